"""Helpers for running Snakemake on the loopback SLURM cluster of tests/slurm/cluster.sh.

Used by tests/test_slurm.py; meant to be reused for the real workflow, e.g.

    cluster = start_cluster()
    run = snakemake_slurm(workdir, snakefile=REPO / "Snakefile", configfile=REPO / "config/demo.yaml")
    jobs = slurm_jobs(run.slurm_jobids)        # SLURM's own record of each submitted job

SLURM's records: `scontrol -o -d show job ID` (finished jobs stay for MinJobAge=600 s) and the job completion
log written by jobcomp/filetxt (one line per finished job, kept for the life of the cluster state dir).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLUSTER_SH = REPO / "tests" / "slurm" / "cluster.sh"
CI_PROFILE = REPO / "profiles" / "ci-slurm"
STATE = Path(os.environ.get("INFSCALE_SLURM_STATE", "/tmp/infscale-slurm"))
SLURM_TOOLS = ("munged", "slurmctld", "slurmd", "sbatch", "srun", "squeue", "scontrol", "scancel", "sinfo")

_SUBMITTED = re.compile(r"Job (\S+) has been submitted with SLURM jobid (\d+) \(log: ([^)]*)\)")


class SlurmMissing(RuntimeError):
    pass


def _which(tool: str) -> str | None:
    return shutil.which(tool) or (f"/usr/sbin/{tool}" if os.access(f"/usr/sbin/{tool}", os.X_OK) else None)


def start_cluster(timeout: float = 90) -> bool:
    """Start the loopback cluster (idempotent). Returns True when this call started it.

    Raises SlurmMissing (one line naming the tool and the packages) when SLURM is not installed."""
    missing = [t for t in SLURM_TOOLS if _which(t) is None]
    if missing:
        raise SlurmMissing(f"SLURM tools not found: {', '.join(missing)}; install the Debian packages "
                           f"in envs/apt-test.txt (slurm-wlm munge)")
    r = subprocess.run([str(CLUSTER_SH), "start"], capture_output=True, text=True, timeout=timeout)
    if r.returncode:
        raise RuntimeError(f"tests/slurm/cluster.sh start failed:\n{r.stdout}{r.stderr}")
    return "already running" not in r.stdout


def stop_cluster() -> None:
    subprocess.run([str(CLUSTER_SH), "stop"], capture_output=True, text=True, timeout=60)


def snakemake_env() -> dict:
    """Environment for snakemake and its jobs: this interpreter's bin dir first on PATH (sbatch exports the
    environment, so the in-job snakemake is the same one)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("SLURM_CONF", None)
    return env


@dataclass
class Run:
    proc: subprocess.Popen
    workdir: Path
    logfile: Path
    started: float = field(default_factory=time.monotonic)
    returncode: int | None = None
    elapsed: float | None = None

    @property
    def log(self) -> str:
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""

    @property
    def submissions(self) -> list[tuple[str, int, str]]:
        """(snakemake job id, SLURM job id, SLURM log path) for each submission, in order."""
        return [(a, int(b), c) for a, b, c in _SUBMITTED.findall(self.log)]

    @property
    def slurm_jobids(self) -> list[int]:
        return [j for _, j, _ in self.submissions]

    def poll(self) -> int | None:
        rc = self.proc.poll()
        if rc is not None and self.returncode is None:
            self.returncode, self.elapsed = rc, time.monotonic() - self.started
        return rc

    def wait(self, timeout: float) -> int:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"snakemake in {self.workdir} ran over {timeout:.0f} s; log tail:\n"
                                 + self.log[-3000:])
        self.poll()
        return self.returncode


def snakemake_slurm(workdir: Path, snakefile: Path, *, profile: Path | None = CI_PROFILE,
                    configfile: Path | None = None, config: dict | None = None, executor: str | None = "slurm",
                    extra: list[str] | tuple = (), targets: list[str] | tuple = (), logname: str = "snakemake.out") -> Run:
    """Start `snakemake --executor slurm --profile profiles/ci-slurm` on `snakefile` in `workdir` (non-blocking).

    Pass executor=None, profile=None and extra=["--cores", "2"] for a local reference run of the same DAG."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    # targets first: --config takes every word after it
    cmd = [sys.executable, "-m", "snakemake", *targets, "-s", str(snakefile), "-d", str(workdir)]
    if executor:
        cmd += ["--executor", executor]
    if profile:
        cmd += ["--profile", str(profile)]
    if configfile:
        cmd += ["--configfile", str(configfile)]
    if config:
        cmd += ["--config", *[f"{k}={v}" for k, v in config.items()]]
    cmd += list(extra)
    logfile = workdir / logname
    out = open(logfile, "w")
    proc = subprocess.Popen(cmd, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, env=snakemake_env())
    out.close()
    return Run(proc, workdir, logfile)


def scontrol_job(jobid: int) -> dict[str, str]:
    """SLURM's record of one job as a dict (`scontrol -o -d show job`); {} once it has aged out."""
    r = subprocess.run(["scontrol", "-o", "-d", "show", "job", str(jobid)], capture_output=True, text=True,
                       env=snakemake_env())
    if r.returncode:
        return {}
    rec: dict[str, str] = {}
    for tok in r.stdout.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            rec.setdefault(k, v)
    return rec


def slurm_jobs(jobids) -> dict[int, dict[str, str]]:
    return {j: scontrol_job(j) for j in jobids}


def jobcomp_records(jobids=None) -> list[dict[str, str]]:
    """Lines of the jobcomp/filetxt completion log (one per finished job, a retried job gets one per try)."""
    path = STATE / "jobcomp.log"
    out = []
    for line in path.read_text().splitlines() if path.exists() else []:
        rec = dict(tok.split("=", 1) for tok in line.split() if "=" in tok)
        if jobids is None or int(rec.get("JobId", -1)) in set(jobids):
            out.append(rec)
    return out


def running_jobs(workdir: Path) -> list[dict[str, str]]:
    """Jobs SLURM has running or pending with this working directory: [{id, state, comment}]."""
    r = subprocess.run(["squeue", "-h", "-o", "%i|%T|%Z|%k"], capture_output=True, text=True, env=snakemake_env())
    out = []
    for line in r.stdout.splitlines():
        jid, state, wd, comment = (line.split("|", 3) + ["", "", "", ""])[:4]
        if Path(wd) == Path(workdir):
            out.append({"id": int(jid), "state": state, "comment": comment})
    return out
