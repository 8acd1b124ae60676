"""Run untrusted programs in a real sandbox (bubblewrap), with caps that hold for all of a sample's processes.

Isolation levels (options key `verify.sandbox.isolation`):

- ``bwrap`` (default): bubblewrap (Debian package `bubblewrap`). New user, pid, net, ipc, uts and cgroup
  namespaces (``--unshare-all``): no network at all (only a loopback that nothing listens on); a read-only view
  of /usr (plus the /bin, /lib, /lib64, /sbin links) and of the interpreter's own prefix (``sys.prefix`` and
  ``sys.base_prefix``, nothing above them), and nothing else of the host (no /etc, no $HOME, no /tmp); private
  size-capped tmpfs ``/work`` (holding the program, read-only) and ``/tmp``; a minimal /dev, read-only, with a
  size-capped tmpfs ``/dev/shm``; the root is remounted read-only; ``--die-with-parent``, ``--new-session``,
  ``--as-pid-1`` (the program is its namespace's init: no reaper process to start, ~3 ms less per run; when it
  exits the kernel kills everything else in the namespace; signals it sends itself without a handler are
  ignored, as for any init),
  ``--disable-userns`` (no nested user namespaces) and a seccomp filter (below). The program runs as uid/gid
  65534 (nobody). When the verifier runs as root and uid 65534 can reach every bound directory, bwrap itself
  is started as 65534 too, so the kernel charges the processes to an unprivileged uid: by `setpriv`, or, from a
  cgroup-v1 slot, by the launcher thread switching its own credentials around the spawn (one exec less).
  Because of the new pid namespace, every process the program leaves behind dies with it.
- ``unshare-net``: `unshare --net` + `setpriv` to uid 65534 on a host temp dir. Network is denied, the file
  system is NOT isolated. Explicit opt-in only.
- ``none``: only the uid drop (when root), the caps and a process-group kill. Explicit opt-in only.

Caps (``verify.sandbox.limits.*``) hold for the sample as a whole (all its processes together):

- with cgroups (v2 with the memory, pids and cpu controllers delegated to us, or v1 memory/pids/cpuacct
  hierarchies we can write): each run gets its own group: memory.max / memory.limit_in_bytes = memory_mb
  (swap 0 where the knob exists; tmpfs pages written to /work, /tmp, /dev/shm count too), pids.max = nproc,
  and the group's total CPU time (cpu.stat / cpuacct.usage) is polled every 50 ms and the run is killed once it
  exceeds cpu_s. An OOM kill in the group is reported as ``memory_limit``.
- without usable cgroups (the usual case for an ordinary user inside a SLURM job): RLIMIT_NPROC =
  n = min(nproc, max(1, memory_mb // 256)) and RLIMIT_AS = memory_mb // n per process, so n × AS ≤ memory_mb;
  total CPU time is the sum of utime+stime (with reaped children's) over the run's process tree in /proc,
  polled every 50 ms; the tmpfs mounts (3 × fsize_mb at most) come on top.
- always, per process: RLIMIT_CPU (soft cpu_s, hard +1), RLIMIT_FSIZE, RLIMIT_NOFILE, core 0 (util-linux
  `prlimit`, set inside the sandbox just before the interpreter starts); the wall limit (wall_s: the parent
  kills the whole process group); output_bytes: stdout and stderr are each read up to this many bytes; one
  byte more kills the program (status ``output_limit``); /work, /tmp and /dev/shm are tmpfs of fsize_mb each.

Seccomp (built here as a classic BPF program, for x86-64 and aarch64; passed to bwrap with ``--seccomp``):
mount, umount2, pivot_root, chroot, unshare, setns, clone with any CLONE_NEW* flag, ptrace,
process_vm_readv/writev, kcmp, pidfd_getfd, keyctl, add_key, request_key, bpf, perf_event_open, userfaultfd,
io_uring_*, open_by_handle_at, name_to_handle_at, the new mount API (fsopen, fsconfig, fsmount, fspick,
open_tree, move_mount, mount_setattr), kexec_load, kexec_file_load, init_module, finit_module, delete_module,
swapon/swapoff, reboot, acct, quotactl, syslog, settimeofday, clock_settime, adjtimex, sethostname,
setdomainname, vhangup, iopl/ioperm, lookup_dcookie fail with EPERM; clone3 fails with ENOSYS (so libc falls
back to clone, whose flags the filter can read); a foreign architecture (x32 included) is refused.

Which of these applied is recorded in the verdicts' `isolation` column (``Sandbox.applied``), e.g.
``bwrap+cgroup1+seccomp`` or ``bwrap+rlimit+noseccomp``.

Result statuses: ok | runtime_error | timeout | memory_limit | output_limit | sandbox_error.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import os
import platform
import secrets
import selectors
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

ISOLATION_LEVELS = ("bwrap", "unshare-net", "none")
# The sandbox's own defaults, for a bare options mapping (tests, the lean4 runner); a config's verify options carry
# verify.sandbox's (config/schema.yaml), and tests/test_config.py checks that these and Limits' are the schema's.
DEFAULT_ISOLATION = "bwrap"
NOBODY = 65534
FALLBACK_PROCESS_MB = 256  # without cgroups: each process gets at least this much address space (fewer processes)
CPU_POLL_S = 0.05
_SYSTEM_DIRS = ("/bin", "/lib", "/lib32", "/lib64", "/libx32", "/sbin")
_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": "/work",
        "TMPDIR": "/tmp", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
HARNESS = Path(__file__).with_name("harness.py")


class SandboxUnavailable(RuntimeError):
    """The requested isolation cannot be provided here (message is one line)."""


@dataclasses.dataclass(frozen=True)
class Limits:
    cpu_s: float = 10.0
    wall_s: float = 20.0
    memory_mb: int = 2048
    nproc: int = 64
    fsize_mb: int = 64
    nofile: int = 64
    output_bytes: int = 8 << 20

    @classmethod
    def from_options(cls, opts: dict | None, **overrides) -> "Limits":
        opts = dict(opts or {})
        opts.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(opts) - known)
        if bad:
            raise ValueError(f"verify.sandbox.limits: unknown key(s) {', '.join(bad)}; allowed: {', '.join(sorted(known))}")
        return cls(**opts)

    def replace(self, **kw) -> "Limits":
        return dataclasses.replace(self, **kw)


@dataclasses.dataclass
class RunResult:
    status: str
    stdout: bytes
    stderr: bytes
    returncode: int | None
    elapsed_ms: float
    isolation: str
    passed: bool = False  # run_harness only: the harness wrote this run's token (every check returned)
    passed_token: bytes = dataclasses.field(default=b"", repr=False)
    cpu_s: float = 0.0  # total CPU time of all the run's processes, as last measured (cgroup or /proc)

    @property
    def stderr_tail(self) -> str:
        lines = self.stderr.decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else ""


def _default_python() -> str:
    return "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3") or "python3"


# ---- seccomp: a classic BPF program, assembled here ---------------------------------------------------------

_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_DENY = {  # syscall -> (x86-64 number, aarch64 number); man 2 syscalls, asm/unistd.h
    "mount": (165, 40), "umount2": (166, 39), "pivot_root": (155, 41), "chroot": (161, 51), "unshare": (272, 97),
    "setns": (308, 268), "ptrace": (101, 117), "process_vm_readv": (310, 270), "process_vm_writev": (311, 271),
    "kcmp": (312, 272), "pidfd_getfd": (438, 438), "keyctl": (250, 219), "add_key": (248, 217),
    "request_key": (249, 218), "bpf": (321, 280), "perf_event_open": (298, 241), "userfaultfd": (323, 282),
    "io_uring_setup": (425, 425), "io_uring_enter": (426, 426), "io_uring_register": (427, 427),
    "open_by_handle_at": (304, 265), "name_to_handle_at": (303, 264), "fsopen": (430, 430),
    "fsconfig": (431, 431), "fsmount": (432, 432), "fspick": (433, 433), "open_tree": (428, 428),
    "move_mount": (429, 429), "mount_setattr": (442, 442), "kexec_load": (246, 104),
    "kexec_file_load": (320, 294), "init_module": (175, 105), "finit_module": (313, 273),
    "delete_module": (176, 106), "swapon": (167, 224), "swapoff": (168, 225), "reboot": (169, 142),
    "acct": (163, 89), "quotactl": (179, 60), "syslog": (103, 116), "settimeofday": (164, 170),
    "clock_settime": (227, 112), "adjtimex": (159, 171), "clock_adjtime": (305, 266),
    "sethostname": (170, 161), "setdomainname": (171, 162), "vhangup": (153, 58), "lookup_dcookie": (212, 18),
    "iopl": (172, None), "ioperm": (173, None),
}
_CLONE = (56, 220)
_CLONE3 = (435, 435)
_CLONE_NEW = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x00000080
_RET_ALLOW, _RET_KILL, _RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
_EPERM, _ENOSYS = 1, 38


def seccomp_program(machine: str | None = None) -> bytes | None:
    """The filter as struct sock_filter[] bytes, or None on an architecture without a table here."""
    machine = machine or platform.machine()
    if machine not in _AUDIT_ARCH:
        return None
    col = 0 if machine == "x86_64" else 1
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    denied = sorted({nr[col] for nr in _DENY.values() if nr[col] is not None})
    # layout: head, one jeq per denied nr, clone3, clone, ret allow, clone check (2), ret EPERM, ret ENOSYS
    head = [(ld, 0, 0, 4), (jeq, 1, 0, _AUDIT_ARCH[machine]), (ret, 0, 0, _RET_KILL), (ld, 0, 0, 0)]
    x32 = machine == "x86_64"
    n_checks = len(denied) + 2 + (1 if x32 else 0)
    base = len(head)
    allow = base + n_checks
    clone_chk = allow + 1
    eperm = clone_chk + 3
    enosys = eperm + 1
    prog = list(head)

    def jump(op, k, target_true, target_false=None):
        i = len(prog)
        jt = target_true - (i + 1)
        jf = 0 if target_false is None else target_false - (i + 1)
        prog.append((op, jt, jf, k))

    if x32:
        jump(jge, 0x40000000, eperm)
    for nr in denied:
        jump(jeq, nr, eperm)
    jump(jeq, _CLONE3[col], enosys)
    jump(jeq, _CLONE[col], clone_chk)
    prog.append((ret, 0, 0, _RET_ALLOW))
    prog.append((ld, 0, 0, 16))  # low 32 bits of args[0] (clone flags)
    jump(jset, _CLONE_NEW, eperm)
    prog.append((ret, 0, 0, _RET_ALLOW))
    prog.append((ret, 0, 0, _RET_ERRNO | _EPERM))
    prog.append((ret, 0, 0, _RET_ERRNO | _ENOSYS))
    assert len(prog) == enosys + 1 and all(0 <= jt < 256 and 0 <= jf < 256 for _, jt, jf, _ in prog)
    return b"".join(struct.pack("=HBBI", *ins) for ins in prog)


# ---- cgroups ------------------------------------------------------------------------------------------------

class _Cgroups:
    """Per-run cgroups (v2, else v1) under the verifier's own groups, or None when they cannot be used here."""

    _counter = 0
    _lock = threading.RLock()

    def __init__(self, version: int, roots: dict[str, Path]):
        self.version, self.roots = version, roots  # controller ("memory", "pids", "cpu") -> parent dir

    @classmethod
    def shared(cls) -> "_Cgroups | None":
        """What detect() found, once per process: every Sandbox shares the groups (and the v1 slots)."""
        with cls._lock:
            if getattr(cls, "_shared_pid", None) != os.getpid():  # first use, or a forked child (no slot threads)
                cls._shared, cls._shared_pid = cls.detect(), os.getpid()
            return cls._shared

    @classmethod
    def detect(cls) -> "_Cgroups | None":
        try:
            lines = Path("/proc/self/cgroup").read_text().splitlines()
        except OSError:
            return None
        own = {}
        for line in lines:
            _, ctrls, path = line.split(":", 2)
            for c in ctrls.split(",") if ctrls else [""]:
                own[c] = path
        fs = Path("/sys/fs/cgroup")
        candidates = []
        if (fs / "cgroup.controllers").exists() and "" in own:
            base = fs / own[""].lstrip("/")
            candidates.append(cls(2, {c: base for c in ("memory", "pids", "cpu")}))
        if all(c in own for c in ("memory", "pids", "cpuacct")):
            candidates.append(cls(1, {"memory": fs / "memory" / own["memory"].lstrip("/"),
                                      "pids": fs / "pids" / own["pids"].lstrip("/"),
                                      "cpu": fs / "cpuacct" / own["cpuacct"].lstrip("/")}))
        for cg in candidates:
            try:
                run = cg.create(Limits(memory_mb=64, nproc=4))
                if cg.version == 1:  # the slot's launcher thread must be able to enter the groups too
                    _Slot(cg, run.dirs).close()
                run.remove()
            except OSError:
                try:
                    run.remove()
                except (NameError, OSError):
                    pass
                continue
            return cg
        return None

    @property
    def name(self) -> str:
        return f"cgroup{self.version}"

    def acquire(self, limits: Limits):
        """The group for one run: on v1 a reused slot whose launcher thread already sits in it (moving a process
        into a v1 cgroup waits for an RCU grace period per hierarchy, 5-20 ms; a child forked by a thread that is
        already inside starts there for free); on v2 a fresh group that the run's shell joins."""
        if self.version == 2:
            return self.create(limits)
        with self._lock:
            slot = self._free.pop() if getattr(self, "_free", None) else None
        if slot is None:
            slot = _Slot(self, self.create(limits).dirs)
            with self._lock:
                if not hasattr(self, "_all"):
                    self._all = []
                    atexit.register(self.close)
                self._all.append(slot)
        try:
            slot.start(limits)
        except OSError:
            slot.release()
            raise
        return slot

    def close(self) -> None:
        """Remove the free slots' groups (their launcher threads step back into the parent groups first)."""
        with self._lock:
            free, self._free = list(getattr(self, "_free", [])), []
        for slot in free:
            slot.close()

    def create(self, limits: Limits) -> "_CgroupRun":
        with self._lock:
            _Cgroups._counter += 1
            leaf = f"infscale-sb-{os.getpid()}-{_Cgroups._counter}"
        dirs = {c: root / leaf for c, root in self.roots.items()}
        made = []
        try:
            for d in dict.fromkeys(dirs.values()):
                d.mkdir()
                made.append(d)
            mem = limits.memory_mb << 20
            if self.version == 2:
                _write(dirs["memory"] / "memory.max", mem)
                _write(dirs["memory"] / "memory.swap.max", 0, optional=True)
                _write(dirs["pids"] / "pids.max", limits.nproc)
                if not (dirs["cpu"] / "cpu.stat").exists():
                    raise OSError("cpu.stat missing")
            else:
                _write(dirs["memory"] / "memory.limit_in_bytes", mem)
                _write(dirs["memory"] / "memory.memsw.limit_in_bytes", mem, optional=True)
                _write(dirs["pids"] / "pids.max", limits.nproc)
                if not (dirs["cpu"] / "cpuacct.usage").exists():
                    raise OSError("cpuacct.usage missing")
        except OSError:
            for d in reversed(made):
                _rmdir(d)
            raise
        return _CgroupRun(self.version, dirs)


@dataclasses.dataclass
class _CgroupRun:
    version: int
    dirs: dict[str, Path]

    def wrap(self, cmd: list[str], sh: str) -> list[str]:
        procs = self.procs_files()
        join = " && ".join(f'echo $$ > "${i + 1}"' for i in range(len(procs)))
        return [sh, "-c", f'{join} && shift {len(procs)} && exec "$@"', "sh", *procs, *cmd]

    creds = None

    def launch(self, fn, drop: bool = False):
        return fn()

    def release(self) -> None:
        self.remove()

    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in dict.fromkeys(self.dirs.values())]

    def cpu_s(self) -> float:
        try:
            if self.version == 2:
                for line in (self.dirs["cpu"] / "cpu.stat").read_text().splitlines():
                    if line.startswith("usage_usec "):
                        return int(line.split()[1]) / 1e6
                return 0.0
            return int((self.dirs["cpu"] / "cpuacct.usage").read_text()) / 1e9
        except (OSError, ValueError):
            return 0.0

    def oom_killed(self) -> bool:
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            for line in (self.dirs["memory"] / name).read_text().splitlines():
                k, _, v = line.partition(" ")
                if k == "oom_kill" and int(v) > 0:
                    return True
        except (OSError, ValueError):
            pass
        return False

    def remove(self) -> None:
        for d in dict.fromkeys(self.dirs.values()):
            procs = d / "cgroup.procs"
            for _ in range(100):
                try:
                    pids = procs.read_text().split()
                except OSError:
                    break
                for pid in pids:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except (ProcessLookupError, PermissionError, ValueError):
                        pass
                if _rmdir(d):
                    break
                time.sleep(0.01)


class _ThreadCreds:
    """Switch only the calling thread between root and uid/gid 65534 with raw syscalls (glibc's wrappers would
    change every thread of the verifier). The saved uid stays 0, so the thread can switch back; a program it
    starts gets 65534 as real, effective and (on exec) saved uid, no supplementary groups: what
    `setpriv --reuid=65534 --regid=65534 --clear-groups` gives, without starting setpriv."""

    _NR = {"x86_64": (116, 119, 117), "aarch64": (159, 149, 147)}  # setgroups, setresgid, setresuid

    def __init__(self):
        import ctypes

        self.nr = self._NR[platform.machine()]
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.ctypes = ctypes
        self.groups = os.getgroups()

    def _call(self, nr, *args) -> None:
        c = self.ctypes
        if self.libc.syscall(c.c_long(nr), *args) != 0:
            raise OSError(c.get_errno(), os.strerror(c.get_errno()))

    def drop(self) -> None:
        c = self.ctypes
        self._call(self.nr[0], c.c_long(0), c.c_void_p(None))
        self._call(self.nr[1], c.c_long(NOBODY), c.c_long(NOBODY), c.c_long(0))
        self._call(self.nr[2], c.c_long(NOBODY), c.c_long(NOBODY), c.c_long(0))

    def restore(self) -> None:
        c = self.ctypes
        self._call(self.nr[2], c.c_long(0), c.c_long(0), c.c_long(0))
        self._call(self.nr[1], c.c_long(0), c.c_long(0), c.c_long(0))
        arr = (c.c_uint * max(1, len(self.groups)))(*self.groups)
        self._call(self.nr[0], c.c_long(len(self.groups)), arr)


class _Slot:
    """A reusable v1 cgroup (memory, pids, cpuacct) with a launcher thread inside it (v1 places threads
    individually; memory is charged to the thread group leader's group, so the verifier's own memory stays
    outside). Runs launched by that thread start in the group. One run at a time; CPU time and OOM kills are
    counted from the run's start."""

    def __init__(self, cgroups: "_Cgroups", dirs: dict[str, Path]):
        import queue

        self.cgroups, self.dirs, self.version = cgroups, dirs, 1
        self.jobs: "queue.Queue" = queue.Queue()
        ready = threading.Event()
        self.error: list[BaseException] = []
        threading.Thread(target=self._loop, args=(ready,), daemon=True, name="sandbox-cgroup-slot").start()
        ready.wait()
        if self.error:
            raise OSError(f"cannot enter cgroup slot: {self.error[0]}")

    def _loop(self, ready: threading.Event) -> None:
        try:
            tid = threading.get_native_id()
            for d in dict.fromkeys(self.dirs.values()):
                (d / "tasks").write_text(str(tid))
        except OSError as e:
            self.error.append(e)
            ready.set()
            return
        self.creds = None
        if os.geteuid() == 0 and platform.machine() in _ThreadCreds._NR:
            try:
                creds = _ThreadCreds()
                creds.drop()
                creds.restore()
                if os.geteuid() == 0 and os.getgroups() == creds.groups:
                    self.creds = creds
            except (OSError, AttributeError, ImportError):
                pass
        ready.set()
        while True:
            fn, box, done = self.jobs.get()
            if fn is None:
                return
            try:
                box.append(fn())
            except BaseException as e:  # noqa: BLE001 - handed back to the caller
                box.append(e)
            done.set()

    def start(self, limits: Limits) -> None:
        mem, sw = self.dirs["memory"] / "memory.limit_in_bytes", self.dirs["memory"] / "memory.memsw.limit_in_bytes"
        try:  # lowering: memory first; raising: memsw first (v1 keeps memory <= memsw at every step)
            _write(mem, limits.memory_mb << 20)
            _write(sw, limits.memory_mb << 20, optional=True)
        except OSError:
            _write(sw, limits.memory_mb << 20, optional=True)
            _write(mem, limits.memory_mb << 20)
        _write(self.dirs["pids"] / "pids.max", limits.nproc + 1)  # + the launcher thread
        self._cpu0 = self._cpu_raw()
        self._oom0 = self._oom_raw()

    def wrap(self, cmd: list[str], sh: str) -> list[str]:
        return cmd

    def close(self) -> None:
        def leave():
            tid = str(threading.get_native_id())
            for c, d in self.dirs.items():
                (self.cgroups.roots[c] / "tasks").write_text(tid)
        try:
            self.launch(leave)
        except OSError:
            return
        finally:
            self.jobs.put((None, None, None))  # the launcher thread ends
        for d in dict.fromkeys(self.dirs.values()):
            _rmdir(d)

    def launch(self, fn, drop: bool = False):
        """Run fn (a Popen) in the launcher thread; with `drop`, as uid/gid 65534 (see _ThreadCreds)."""
        box: list = []
        done = threading.Event()
        if drop:
            inner = fn

            def fn():
                self.creds.drop()
                try:
                    return inner()
                finally:
                    self.creds.restore()
        self.jobs.put((fn, box, done))
        done.wait()
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]

    def _cpu_raw(self) -> int:
        try:
            return int((self.dirs["cpu"] / "cpuacct.usage").read_text())
        except (OSError, ValueError):
            return 0

    def _oom_raw(self) -> int:
        try:
            for line in (self.dirs["memory"] / "memory.oom_control").read_text().splitlines():
                k, _, v = line.partition(" ")
                if k == "oom_kill":
                    return int(v)
        except (OSError, ValueError):
            pass
        return 0

    def cpu_s(self) -> float:
        return (self._cpu_raw() - self._cpu0) / 1e9

    def oom_killed(self) -> bool:
        return self._oom_raw() > self._oom0

    def release(self) -> None:
        """Kill whatever of the run is left in the group (never the verifier itself), then free the slot."""
        me = os.getpid()
        for d in dict.fromkeys(self.dirs.values()):
            try:
                pids = [int(p) for p in (d / "cgroup.procs").read_text().split()]
            except (OSError, ValueError):
                pids = []
            for pid in pids:
                if pid != me:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
        with self.cgroups._lock:
            if not hasattr(self.cgroups, "_free"):
                self.cgroups._free = []
            self.cgroups._free.append(self)


def _write(path: Path, value, optional: bool = False) -> None:
    try:
        path.write_text(str(value))
    except FileNotFoundError:
        if not optional:
            raise


def _rmdir(d: Path) -> bool:
    try:
        d.rmdir()
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False


# ---- CPU time of a process tree without cgroups -------------------------------------------------------------

_CLK = os.sysconf("SC_CLK_TCK")


def tree_cpu_s(root: int) -> float:
    """utime+stime+cutime+cstime summed over `root` and all its descendants (reaped children count through
    their parent's cutime/cstime)."""
    parent, cpu = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        pid = int(name)
        parent[pid] = int(fields[1])
        cpu[pid] = sum(int(x) for x in fields[11:15])
    children: dict[int, list[int]] = {}
    for pid, pp in parent.items():
        children.setdefault(pp, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0)
        todo += children.get(pid, [])
    return total / _CLK


# ---- the sandbox --------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _interpreter_prefixes(python: str) -> tuple[str, ...]:
    """The interpreter's own prefixes (sys.prefix, sys.base_prefix, exec prefixes), resolved; asked from the
    interpreter itself."""
    try:
        p = subprocess.run([python, "-I", "-c", "import sys; print('\\0'.join({sys.prefix, sys.base_prefix, "
                            "sys.exec_prefix, sys.base_exec_prefix}))"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SandboxUnavailable(f"interpreter {python!r} cannot be run: {e}") from None
    if p.returncode != 0:
        raise SandboxUnavailable(f"interpreter {python!r} cannot be run (exit {p.returncode})")
    return tuple(sorted({os.path.realpath(x) for x in p.stdout.decode().strip().split("\0") if x}))


def _covered(path: str, dirs) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in dirs)


def _world_reachable(path: str) -> bool:
    """True when uid 65534 (no group) can traverse every directory on the way to `path` and read it."""
    p = Path(path)
    for d in [*reversed(p.parents), p]:
        try:
            st = d.stat()
        except OSError:
            return False
        need = 0o005 if d.is_dir() else 0o004
        if st.st_mode & need != need and st.st_uid != NOBODY:
            return False
    return True


class Sandbox:
    """Runs Python programs (source text) or other commands under the chosen isolation level."""

    def __init__(self, isolation: str = DEFAULT_ISOLATION, limits: Limits | None = None, python: str | None = None,
                 extra_ro_binds: tuple[str, ...] = ()):
        if isolation not in ISOLATION_LEVELS:
            raise ValueError(f"verify.sandbox.isolation = {isolation!r} is not allowed; allowed: {', '.join(ISOLATION_LEVELS)}")
        self.isolation = isolation
        self.limits = limits or Limits()
        self.python = python or _default_python()
        self.extra_ro_binds = tuple(extra_ro_binds)
        self.root = os.geteuid() == 0
        self.bwrap = shutil.which("bwrap")
        self.prlimit = shutil.which("prlimit")
        self.setpriv = shutil.which("setpriv")
        self.sh = shutil.which("sh") or "/bin/sh"
        if self.root and self.setpriv is None:
            raise SandboxUnavailable("util-linux 'setpriv' not found on PATH; it drops root to uid 65534")
        if self.prlimit is None:
            raise SandboxUnavailable("util-linux 'prlimit' not found on PATH; it sets the sandbox's resource limits")
        self.cgroups = _Cgroups.shared()
        self.seccomp = None
        self.binds: list[str] = []
        self.drop = self.root
        if isolation == "bwrap":
            if self.bwrap is None:
                raise SandboxUnavailable(
                    "bubblewrap ('bwrap') not found on PATH: install the Debian package 'bubblewrap', or opt in to "
                    "weaker isolation with verify.sandbox.isolation: unshare-net | none")
            self.binds = self._bind_dirs()
            # bwrap run as uid 65534 must be able to reach every bind source; otherwise bwrap runs as root and
            # the pids cgroup (required then) stands in for RLIMIT_NPROC, which root is exempt from
            self.drop = self.root and all(_world_reachable(b) for b in self.binds)
            if self.root and not self.drop and self.cgroups is None:
                raise SandboxUnavailable(
                    f"uid 65534 cannot reach {next(b for b in self.binds if not _world_reachable(b))} and there "
                    "are no cgroups to cap a root-owned sandbox; use an interpreter uid 65534 can read "
                    "(verify.sandbox.python)")
            self.seccomp = seccomp_program()
            self.applied = self._applied()
            self._probe()
        elif isolation == "unshare-net":
            for tool in ("unshare", "setpriv"):
                if shutil.which(tool) is None:
                    raise SandboxUnavailable(f"'{tool}' (util-linux) not found on PATH; needed for isolation unshare-net")

        self.applied = self._applied()

    def _applied(self) -> str:
        """What isolation applies, as recorded in the verdicts: level + cgroup1|cgroup2|rlimit (+ seccomp)."""
        return "+".join([self.isolation, self.cgroups.name if self.cgroups else "rlimit"]
                        + (["seccomp" if self.seccomp else "noseccomp"] if self.isolation == "bwrap" else []))

    @classmethod
    def from_options(cls, options: dict | None, **limit_overrides) -> "Sandbox":
        """Build from the `verify` options mapping (uses its `sandbox` entry)."""
        sb = dict((options or {}).get("sandbox", {}))
        bad = sorted(set(sb) - {"isolation", "limits", "python", "extra_ro_binds"})
        if bad:
            raise ValueError(f"verify.sandbox: unknown key(s) {', '.join(bad)}; allowed: isolation, limits, python, extra_ro_binds")
        return cls(isolation=sb.get("isolation", DEFAULT_ISOLATION), limits=Limits.from_options(sb.get("limits"), **limit_overrides),
                   python=sb.get("python"), extra_ro_binds=tuple(sb.get("extra_ro_binds", ())))

    # ---- command construction -------------------------------------------------------------------------------

    def _prlimit_argv(self, limits: Limits) -> list[str]:
        cpu = max(1, int(round(limits.cpu_s)))
        fsize = limits.fsize_mb << 20
        if self.cgroups:
            nproc, mem = limits.nproc, limits.memory_mb
        else:  # documented fallback: nproc × AS ≤ memory_mb
            nproc = max(1, min(limits.nproc, limits.memory_mb // FALLBACK_PROCESS_MB))
            mem = limits.memory_mb // nproc
        return [self.prlimit, f"--cpu={cpu}:{cpu + 1}", f"--as={mem << 20}",
                f"--nproc={nproc}", f"--fsize={fsize}", f"--nofile={limits.nofile}", "--core=0", "--"]

    def _bind_dirs(self) -> list[str]:
        """Directories bound read-only besides /usr: the interpreter's own prefixes (or, outside them, the
        interpreter file itself) and `extra_ro_binds`."""
        py = os.path.realpath(shutil.which(self.python) or self.python)
        out = []
        for d in _interpreter_prefixes(self.python):
            if d not in ("/", "/usr") and not _covered(d, ["/usr"]):
                out.append(d)
        if not _covered(py, ["/usr", *out]):
            out.append(py)
        for d in self.extra_ro_binds:
            if not _covered(os.path.realpath(d), ["/usr"]):
                out.append(d)
        return list(dict.fromkeys(out))

    def _bwrap_argv(self, limits: Limits, fd_files: dict[str, int], chdir: str | None, seccomp_fd: int | None) -> list[str]:
        size = str(limits.fsize_mb << 20)
        argv = [self.bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--uid", str(NOBODY),
                "--gid", str(NOBODY), "--die-with-parent", "--new-session", "--as-pid-1", "--hostname", "sandbox",
                "--ro-bind", "/usr", "/usr"]
        for d in _SYSTEM_DIRS:
            if os.path.islink(d):
                argv += ["--symlink", os.readlink(d), d]
            elif os.path.isdir(d):
                argv += ["--ro-bind", d, d]
        argv += ["--proc", "/proc", "--dev", "/dev", "--size", size, "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
                 "--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", "/work"]
        for path in self.binds:  # after the tmpfs mounts, so that an interpreter under /tmp or /work stays visible
            argv += ["--ro-bind", path, path]
        for name, fd in fd_files.items():
            argv += ["--ro-bind-data", str(fd), f"/work/{name}"]
        if seccomp_fd is not None:
            argv += ["--seccomp", str(seccomp_fd)]
        argv += ["--remount-ro", "/", "--chdir", chdir or "/work", "--"]
        return argv

    def _probe(self) -> None:
        """Start the real interpreter in the real sandbox once."""
        res = self.run([self.python, "-I", "-S", "-c", "pass"], {})
        if res.status != "ok":
            tail = res.stderr_tail or f"exit {res.returncode}"
            raise SandboxUnavailable(
                f"bubblewrap cannot run {self.python} in its sandbox here ({tail}); unprivileged user namespaces "
                "must be allowed and the interpreter readable, or opt in to weaker isolation with "
                "verify.sandbox.isolation: unshare-net | none")

    def _drop(self) -> list[str]:
        """Prefix that drops root to uid/gid 65534 (an exec of setpriv keeps Popen on its fast vfork path, which
        user=/group= would disable)."""
        return [self.setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"] if self.drop else []

    # ---- running ------------------------------------------------------------------------------------------

    def run_python(self, source: str, stdin: bytes | str = b"", limits: Limits | None = None) -> RunResult:
        """Run Python source as /work/main.py (isolated mode: -I, no bytecode files)."""
        return self.run([self.python, "-I", "-B", "main.py"], {"main.py": source.encode()}, stdin, limits)

    def run_harness(self, solution: str, checks: str, entry_point: str | None = None,
                    limits: Limits | None = None) -> RunResult:
        """Run solution.py then the checks under the pass-token harness (harness.py); `passed` is True only when
        the harness wrote this run's random token on its result pipe after every check returned."""
        token = secrets.token_hex(16).encode()
        tok_r, tok_w = os.pipe()
        res_r, res_w = os.pipe()
        try:
            os.write(tok_w, token)
        finally:
            os.close(tok_w)
        argv = [self.python, "-I", "-B", "harness.py", str(tok_r), str(res_w)] + ([entry_point] if entry_point else [])
        files = {"harness.py": HARNESS.read_bytes(), "solution.py": solution.encode(), "check.py": checks.encode()}
        return self.run(argv, files, b"", limits, channel=(tok_r, res_w, res_r, token))

    def run(self, argv: list[str], files: dict[str, bytes], stdin: bytes | str = b"",
            limits: Limits | None = None, env: dict[str, str] | None = None, chdir: str | None = None,
            channel: tuple | None = None) -> RunResult:
        """Run `argv` in a fresh sandbox whose work dir holds `files` (read-only). Never raises for the program's
        misbehaviour: that becomes the result's status. `env` adds variables to the minimal environment; `chdir`
        (bwrap only) starts the program in another directory, e.g. a read-only bound Lean project."""
        limits = limits or self.limits
        if isinstance(stdin, str):
            stdin = stdin.encode()
        if not isinstance(stdin, (bytes, bytearray)):
            raise TypeError(f"sandbox stdin must be bytes or str, got {type(stdin).__name__}")
        t0 = time.perf_counter()
        tmpdir = None
        fds: list[int] = []
        result_fd = None
        cg = None
        if channel:
            fds += [channel[0], channel[1]]
            result_fd = channel[2]
        try:
            if self.isolation == "bwrap":
                fd_files = {}
                for name, data in files.items():
                    fd = os.memfd_create(f"sandbox-{name}", 0)
                    fds.append(fd)
                    _write_all(fd, data)
                    os.lseek(fd, 0, os.SEEK_SET)
                    fd_files[name] = fd
                sc_fd = None
                if self.seccomp:
                    sc_fd = os.memfd_create("sandbox-seccomp", 0)
                    fds.append(sc_fd)
                    _write_all(sc_fd, self.seccomp)
                    os.lseek(sc_fd, 0, os.SEEK_SET)
                cmd = (self._drop() + self._bwrap_argv(limits, fd_files, chdir, sc_fd)
                       + self._prlimit_argv(limits) + argv)
                drop_in_thread = False
                cwd = "/"
            else:
                tmpdir = tempfile.mkdtemp(prefix="infscale-sb-")
                for name, data in files.items():
                    Path(tmpdir, name).write_bytes(data)
                if self.root:
                    os.chown(tmpdir, NOBODY, NOBODY)
                os.chmod(tmpdir, 0o700)
                cmd = self._prlimit_argv(limits) + argv
                if self.isolation == "unshare-net":
                    cmd = ["unshare", "--net"] + ([] if self.root else ["--map-root-user"]) + ["--"] + self._drop() + cmd
                else:
                    cmd = self._drop() + cmd
                cwd = tmpdir
                drop_in_thread = False
            if self.cgroups:
                try:
                    cg = self.cgroups.acquire(limits)
                except OSError as e:
                    return RunResult("sandbox_error", b"", f"cgroup: {e}".encode(), None, _ms(t0), self.applied)
                cmd = cg.wrap(cmd, self.sh)
                if self.isolation == "bwrap" and self.drop and cg.creds is not None:
                    cmd = cmd[len(self._drop()):]  # the launcher thread drops to 65534 itself: one exec less
                    drop_in_thread = True
            env = dict(_ENV, HOME=cwd if tmpdir else "/work", **(env or {}))
            try:
                def popen():
                    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                            cwd=cwd, env=env, pass_fds=tuple(fds), start_new_session=True)
                proc = cg.launch(popen, drop_in_thread) if cg is not None else popen()
            except OSError as e:
                return RunResult("sandbox_error", b"", str(e).encode(), None, _ms(t0), self.applied)
            for fd in fds:
                os.close(fd)
            fds = []
            res = self._communicate(proc, stdin, limits, t0, cg, result_fd)
            if channel:
                res.passed = res.passed_token == channel[3]
            return res
        finally:
            for fd in fds:
                os.close(fd)
            if result_fd is not None:
                os.close(result_fd)
            if cg is not None:
                cg.release()
            if tmpdir:
                shutil.rmtree(tmpdir, ignore_errors=True)

    def _communicate(self, proc: subprocess.Popen, stdin: bytes, limits: Limits, t0: float,
                     cg: "_CgroupRun | None", result_fd: int | None) -> RunResult:
        fed: list[BaseException] = []
        writer = threading.Thread(target=_feed, args=(proc.stdin, stdin, fed), daemon=True)
        if stdin:
            writer.start()
        else:
            _feed(proc.stdin, b"", fed)  # nothing to write: close stdin here, no thread
        out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
        bufs = {out_fd: bytearray(), err_fd: bytearray()}
        caps = {out_fd: limits.output_bytes, err_fd: limits.output_bytes}
        sel = selectors.DefaultSelector()
        for fd in (out_fd, err_fd) + ((result_fd,) if result_fd is not None else ()):
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ)
        if result_fd is not None:
            bufs[result_fd] = bytearray()
            caps[result_fd] = 256
        deadline = time.monotonic() + limits.wall_s
        seen = [0.0]

        def cpu() -> float:
            seen[0] = max(seen[0], cg.cpu_s() if cg else tree_cpu_s(proc.pid))
            return seen[0]

        next_cpu = time.monotonic() + CPU_POLL_S
        reason = None
        try:
            while sel.get_map():
                now = time.monotonic()
                left = deadline - now
                if left <= 0:
                    reason = "timeout"
                    break
                if now >= next_cpu:
                    next_cpu = now + CPU_POLL_S
                    if cpu() > limits.cpu_s:
                        reason = "timeout"
                        break
                for key, _ in sel.select(timeout=min(left, CPU_POLL_S)):
                    fd = key.fd
                    try:
                        chunk = os.read(fd, 1 << 16)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        sel.unregister(fd)
                        continue
                    buf = bufs[fd]
                    room = caps[fd] - len(buf)
                    buf += chunk[:max(room, 0)]
                    if len(chunk) > room:
                        if fd == result_fd:
                            sel.unregister(fd)  # a program flooding the result pipe: no pass, keep going
                            bufs[fd] = bytearray(b"\0")
                            continue
                        reason = "output_limit"
                        break
                if reason:
                    break
            while reason is None:
                try:
                    proc.wait(timeout=CPU_POLL_S)
                    break
                except subprocess.TimeoutExpired:
                    if time.monotonic() >= deadline or cpu() > limits.cpu_s:
                        reason = "timeout"
        finally:
            sel.close()
            _kill_group(proc)
            proc.wait()
            for f in (proc.stdout, proc.stderr, proc.stdin):
                try:
                    f.close()
                except OSError:
                    pass
        if writer.is_alive():
            writer.join(timeout=1.0)
        if cg is not None:
            cpu()
        out, err = bytes(bufs[out_fd]), bytes(bufs[err_fd])
        rc = proc.returncode
        status = reason or _status_from_exit(rc, err, self.isolation == "bwrap")
        if cg is not None and status in ("timeout", "runtime_error") and cg.oom_killed():
            status = "memory_limit"
        if fed and not isinstance(fed[0], (BrokenPipeError, ConnectionResetError)):
            # a program that exits before reading all of its input breaks the pipe: its business. Any other
            # failure of the feeder is ours, and says so instead of leaving the program waiting for input.
            status = "sandbox_error"
            err += f"\nsandbox: stdin feeder failed: {type(fed[0]).__name__}: {fed[0]}".encode()
        token = bytes(bufs[result_fd]) if result_fd is not None else b""
        return RunResult(status, out, err, rc, _ms(t0), self.applied, passed_token=token, cpu_s=seen[0])


def _status_from_exit(rc: int, err: bytes, bwrap: bool) -> str:
    # bwrap reports a child killed by signal N as exit 128+N; a bare child shows -N.
    sig = -rc if rc < 0 else (rc - 128 if bwrap and 128 < rc < 160 else 0)
    tail = err.decode("utf-8", "replace").strip().splitlines()
    last = tail[-1] if tail else ""
    if rc == 0:
        return "ok"
    if sig in (signal.SIGXCPU, signal.SIGKILL) and sig:
        return "timeout"
    if sig == signal.SIGXFSZ:
        return "output_limit"
    if last.startswith("MemoryError") or "Cannot allocate memory" in last:
        return "memory_limit"
    if bwrap and last.startswith("bwrap:") and rc == 1:
        return "sandbox_error"
    return "runtime_error"


def _feed(pipe, data: bytes, failed: list) -> None:
    """Write the program's stdin; any failure is kept in `failed` (never silent), the pipe is always closed."""
    try:
        if data:
            pipe.write(data)
    except BaseException as e:  # noqa: BLE001 - reported by _communicate
        failed.append(e)
    finally:
        try:
            pipe.close()
        except (BrokenPipeError, OSError, ValueError) as e:
            if not failed:
                failed.append(e)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0
