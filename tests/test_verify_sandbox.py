"""The sandbox against an adversarial set of programs: each is contained, gets a status, and the host is untouched.

These tests need bubblewrap (Debian package `bubblewrap`); without it they FAIL (SandboxUnavailable), never skip.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest

from infscale.contracts import VERDICT_COLUMNS, VERDICT_STATUSES
from infscale.verify import sandbox as sbmod
from infscale.verify.sandbox import Limits, Sandbox, SandboxUnavailable

FAST = Limits(cpu_s=2, wall_s=4, memory_mb=1024, nproc=32, fsize_mb=16, nofile=64, output_bytes=1 << 20)


@pytest.fixture(scope="module")
def sb():
    return Sandbox("bwrap", FAST)


def _procs_with(marker: str) -> list[int]:
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmd:
            found.append(int(d.name))
    return found


def _uid(pid: int) -> int | None:
    try:
        return Path(f"/proc/{pid}").stat().st_uid
    except OSError:
        return None


def _gone(find, within_s: float = 3.0) -> bool:
    """True once find() returns nothing; the kernel may need a moment to reap a torn-down pid namespace."""
    deadline = time.monotonic() + within_s
    while find():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_runs_program_as_nobody_in_private_workdir(sb):
    r = sb.run_python("import os, sys\nprint(os.getuid(), os.getgid(), os.getcwd(), sys.stdin.read())", "hi")
    assert r.status == "ok", r
    assert r.stdout.split() == [b"65534", b"65534", b"/work", b"hi"]
    assert r.isolation == sb.applied and r.isolation.startswith("bwrap+") and r.returncode == 0 and r.elapsed_ms > 0


def test_socket_to_host_listener_is_blocked(sb):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(0.5)
    port = srv.getsockname()[1]
    got = []

    def accept():
        try:
            got.append(srv.accept())
        except OSError:
            pass
    t = threading.Thread(target=accept)
    t.start()
    r = sb.run_python(f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
                      "s.sendall(b'leak')\nprint('connected')")
    t.join()
    srv.close()
    assert got == [], "the sandboxed program reached a listener on the host"
    assert r.status == "runtime_error" and b"connected" not in r.stdout
    assert "Connection refused" in r.stderr_tail or "unreachable" in r.stderr_tail


def test_writes_outside_workdir_do_not_reach_host(sb, tmp_path):
    targets = [tmp_path / "pwned.txt", Path("/usr/pwned.txt"), Path("/pwned.txt"), Path.home() / "pwned.txt",
               Path("/etc/pwned.txt")]
    src = "import os\nfor p in %r:\n    try:\n        os.makedirs(os.path.dirname(p), exist_ok=True)\n" \
          "        open(p, 'w').write('x')\n        print('wrote', p)\n    except OSError as e:\n" \
          "        print('denied', p, e.errno)\nopen('/work/ok.txt', 'w').write('fine')\nprint('workdir ok')\n" \
          % [str(p) for p in targets]
    r = sb.run_python(src)
    assert r.status == "ok", r
    assert b"workdir ok" in r.stdout
    for p in targets:
        assert not p.exists(), f"sandboxed program created {p} on the host"


def test_cannot_read_secrets_from_env_or_home(sb, monkeypatch):
    secret = "s3cret-" + uuid.uuid4().hex
    monkeypatch.setenv("INFSCALE_FAKE_SECRET", secret)
    secret_file = Path.home() / f".infscale-fake-secret-{uuid.uuid4().hex}"
    secret_file.write_text(secret)
    try:
        src = f"""
import os, glob
print(dict(os.environ))
for p in [{str(secret_file)!r}, os.path.expanduser('~/' + {secret_file.name!r}), '/proc/1/environ',
          '/proc/self/environ', '/etc/shadow', '/etc/passwd']:
    try:
        print(p, open(p, 'rb').read())
    except OSError as e:
        print('denied', p, e)
print(glob.glob('/root/*') + glob.glob('/home/*') + glob.glob({str(secret_file.parent)!r} + '/.*'))
"""
        r = sb.run_python(src)
    finally:
        secret_file.unlink()
    assert r.status == "ok", r
    assert secret.encode() not in r.stdout + r.stderr
    assert b"INFSCALE_FAKE_SECRET" not in r.stdout


def test_fork_bomb_is_cut_and_leaves_nothing(sb):
    src = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    t0 = time.perf_counter()
    r = sb.run_python(src, limits=Limits(**{**FAST.__dict__, "wall_s": 2}))
    assert time.perf_counter() - t0 < 6
    assert r.status == "timeout", r
    assert _gone(lambda: [p for p in _procs_with("main.py") if _uid(p) == sbmod.NOBODY]), "fork bomb survived"


def test_nproc_limit_is_enforced(sb):
    src = "import os, time\nn = 0\ntry:\n    for _ in range(200):\n        if os.fork() == 0:\n" \
          "            time.sleep(3); os._exit(0)\n        n += 1\nexcept OSError:\n    pass\nprint(n)\n"
    r = sb.run_python(src)
    assert r.status == "ok", r
    assert int(r.stdout) < FAST.nproc


def test_allocating_10_gb_gets_memory_limit(sb):
    r = sb.run_python("x = bytearray(10 * 1024 ** 3)\nprint(len(x))")
    assert r.status == "memory_limit", r
    assert r.stdout == b""


def test_infinite_loop_gets_timeout(sb):
    t0 = time.perf_counter()
    r = sb.run_python("while True:\n    pass\n", limits=Limits(**{**FAST.__dict__, "cpu_s": 1, "wall_s": 3}))
    assert r.status == "timeout", r
    assert time.perf_counter() - t0 < 3.5


def test_sleeping_forever_hits_wall_limit(sb):
    r = sb.run_python("import time\ntime.sleep(1000)", limits=Limits(**{**FAST.__dict__, "wall_s": 1}))
    assert r.status == "timeout" and r.elapsed_ms < 2500, r


@pytest.mark.parametrize("src", [
    "import sys\nchunk = 'x' * 65536\nwhile True:\n    sys.stdout.write(chunk)\n",  # 1 GB and more, streamed
    "import sys\nsys.stdout.buffer.write(b'y' * 10 ** 9)\n",  # 1 GB in one write
])
def test_printing_1_gb_is_cut(src):
    sb = Sandbox("bwrap", Limits(**{**FAST.__dict__, "memory_mb": 2600, "cpu_s": 5, "wall_s": 10}))
    t0 = time.perf_counter()
    r = sb.run_python(src)
    assert r.status == "output_limit", r
    assert len(r.stdout) == FAST.output_bytes
    assert time.perf_counter() - t0 < 8


def test_stderr_flood_is_cut(sb):
    r = sb.run_python("import sys\nwhile True:\n    sys.stderr.write('e' * 4096)\n")
    assert r.status == "output_limit" and len(r.stderr) == FAST.output_bytes


def test_killing_its_parent_is_contained(sb):
    host_pid = os.getpid()
    src = f"""
import os, signal
for target in (os.getppid(), 1, {host_pid}):
    try:
        os.kill(target, signal.SIGKILL)
    except OSError as e:
        print('kill', target, 'failed', e.errno)
try:
    os.kill(-1, signal.SIGKILL)
except OSError as e:
    print('kill -1 failed', e.errno)
"""
    r = sb.run_python(src)
    assert r.status in VERDICT_STATUSES or r.status == "ok"
    assert r.status != "sandbox_error" or r.returncode is not None
    os.kill(host_pid, 0)  # we are alive
    # and the sandbox still works afterwards
    assert sb.run_python("print(1)").stdout == b"1\n"


def test_background_processes_do_not_survive(sb):
    marker = "bgmark" + uuid.uuid4().hex[:10]
    src = f"""
import os, subprocess, sys
subprocess.Popen(['sleep', '300'], start_new_session=True)
subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', {marker!r}],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
if os.fork() == 0:          # classic double fork daemon
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(300)', {marker!r}])
    os._exit(0)
print('spawned')
"""
    t0 = time.perf_counter()
    r = sb.run_python(src)
    assert r.status == "ok", r
    assert time.perf_counter() - t0 < 3, "the verifier waited for background processes"
    assert _gone(lambda: _procs_with(marker)), "background processes survived the sandbox"


def test_program_file_is_read_only_and_root_is_read_only(sb):
    r = sb.run_python("import os\nfor p in ['/work/main.py', '/newfile']:\n    try:\n        open(p, 'w')\n"
                      "        print('writable', p)\n    except OSError as e:\n        print('ro', p)\n")
    assert r.stdout.split(b"\n")[:2] == [b"ro /work/main.py", b"ro /newfile"], r


def test_missing_bwrap_is_one_clear_line_unless_opted_out(monkeypatch):
    real = sbmod.shutil.which
    monkeypatch.setattr(sbmod.shutil, "which", lambda name: None if name == "bwrap" else real(name))
    with pytest.raises(SandboxUnavailable) as e:
        Sandbox("bwrap")
    assert "\n" not in str(e.value) and "bubblewrap" in str(e.value) and "verify.sandbox.isolation" in str(e.value)
    # the explicit opt-in still runs, and says what it is
    r = Sandbox("none", FAST).run_python("import os\nprint(os.getuid())")
    assert r.status == "ok" and r.isolation.startswith("none+")
    if os.geteuid() == 0:
        assert r.stdout == b"65534\n"


def test_unshare_net_level_blocks_network():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    try:
        r = Sandbox("unshare-net", FAST).run_python(
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\n")
    finally:
        srv.close()
    assert r.status == "runtime_error" and r.isolation.startswith("unshare-net+")


def test_bad_isolation_and_limits_are_one_line_errors():
    with pytest.raises(ValueError, match="allowed: bwrap, unshare-net, none"):
        Sandbox("docker")
    with pytest.raises(ValueError, match="verify.sandbox.limits: unknown key"):
        Sandbox.from_options({"sandbox": {"limits": {"cpu": 1}}})


def test_isolation_level_is_recorded_in_verdicts():
    from infscale.verify import verify_frames
    problems = pd.DataFrame({"problem_id": ["p"], "question": ["add"], "domain": ["code_stdio"],
                             "reference": ['{"tests": {"public": [{"input": "1 2", "output": "3"}]}}']})
    samples = pd.DataFrame({"problem_id": ["p", "p"], "sample_index": [0, 1],
                            "text": ["print(sum(map(int, input().split())))", "print(4)"],
                            "prompt_tokens": [1, 1], "completion_tokens": [1, 1], "finish_reason": ["stop"] * 2,
                            "seed": [1, 2]})
    for level in ("bwrap", "none"):
        v = verify_frames(problems, samples, {"sandbox": {"isolation": level}}, threads=2)
        assert list(v.columns[:len(VERDICT_COLUMNS)]) == VERDICT_COLUMNS
        assert [s.split("+")[0] for s in v["isolation"]] == [level, level]
        assert v["status"].tolist() == ["correct", "wrong"]


def test_fork_bomb_does_not_starve_a_concurrent_sandbox():
    """RLIMIT_NPROC is set inside each sandbox's own user namespace, so it counts only that sandbox's processes."""
    from concurrent.futures import ThreadPoolExecutor
    sb = Sandbox("bwrap", Limits(**{**FAST.__dict__, "wall_s": 3}))
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    forks = ("import os, time\nkids = []\nfor _ in range(10):\n    pid = os.fork()\n    if pid == 0:\n"
             "        time.sleep(0.2)\n        os._exit(0)\n    kids.append(pid)\nfor pid in kids:\n"
             "    os.waitpid(pid, 0)\nprint('ok')\n")
    with ThreadPoolExecutor(3) as pool:
        bombs = [pool.submit(sb.run_python, bomb) for _ in range(2)]
        time.sleep(0.5)  # let the bombs reach their process limit
        normal = pool.submit(sb.run_python, forks)
        assert normal.result().stdout == b"ok\n", normal.result()
        assert [b.result().status for b in bombs] == ["timeout", "timeout"]


# ---- the stdin feeder never dies silently (issue 11 item 4) ---------------------------------------------------

def test_stdin_that_is_not_bytes_fails_at_once_not_after_the_wall_limit(sb):
    t0 = time.perf_counter()
    with pytest.raises(TypeError, match="stdin must be bytes"):
        sb.run_python("print(input())", 12345)
    assert time.perf_counter() - t0 < 1


def test_a_failing_feeder_is_reported_and_still_closes_stdin(sb, monkeypatch):
    real = sbmod._feed

    def feed(pipe, data, failed):
        class P:  # the pipe, whose write fails the way a feeder bug would
            def write(self, _):
                raise RuntimeError("feeder bug")

            def close(self):
                pipe.close()
        real(P(), data, failed)

    monkeypatch.setattr(sbmod, "_feed", feed)
    t0 = time.perf_counter()
    r = sb.run_python("import sys\nprint(len(sys.stdin.read()))", b"x" * 10)
    assert time.perf_counter() - t0 < 2, "the program waited for input until the wall limit"
    assert r.status == "sandbox_error" and "stdin feeder failed: RuntimeError: feeder bug" in r.stderr_tail, r


def test_program_that_ignores_its_input_is_not_a_feeder_error(sb):
    r = sb.run_python("print('hi')", b"x" * (4 << 20))
    assert r.status == "ok" and r.stdout == b"hi\n", r


# ---- caps for the whole sample, with cgroups and with the documented fallback (issue 11 item 2) ---------------

@pytest.fixture(params=["detected", "no-cgroups"])
def capped(request, monkeypatch):
    """A sandbox with cgroups as this host offers them, and one forced onto the rlimit fallback."""
    if request.param == "no-cgroups":
        monkeypatch.setattr(sbmod._Cgroups, "shared", classmethod(lambda cls: None))
    sb = Sandbox("bwrap", Limits(cpu_s=1, wall_s=30, memory_mb=1024, nproc=16, fsize_mb=16, nofile=64))
    if request.param == "no-cgroups":
        assert "+rlimit+" in sb.applied
    return sb


FAN_OUT = """
import os, time
kids = []
for i in range(8):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        try:
            b = bytearray(200 << 20)
            for j in range(0, len(b), 4096):
                b[j] = 1
        except MemoryError:
            os._exit(3)
        time.sleep(3)
        os._exit(0)
    kids.append(pid)
held = sum(os.waitpid(k, 0)[1] == 0 for k in kids)
print(held)
"""


def test_fan_out_memory_stays_within_the_limit_for_all_processes(capped):
    r = capped.run_python(FAN_OUT, limits=capped.limits.replace(cpu_s=20))
    if r.status == "memory_limit":  # the OOM killer took the parent too: contained all the same
        return
    assert r.status == "ok", r
    held = int(r.stdout)
    assert held * 200 <= 1024, f"{held} children held 200 MB each under a 1024 MB limit ({capped.applied})"
    assert held >= 1


def test_fallback_sizes_nproc_times_as_within_memory(monkeypatch):
    monkeypatch.setattr(sbmod._Cgroups, "shared", classmethod(lambda cls: None))
    for mem, nproc in [(2048, 64), (1024, 16), (300, 16), (64, 1)]:
        lim = Limits(memory_mb=mem, nproc=nproc)
        argv = Sandbox("none", lim)._prlimit_argv(lim)
        n = int(next(a for a in argv if a.startswith("--nproc=")).split("=")[1])
        as_ = int(next(a for a in argv if a.startswith("--as=")).split("=")[1])
        assert n >= 1 and n * as_ <= mem << 20 and n <= nproc


def test_cpu_time_is_capped_across_processes(capped):
    src = ("import os\nfor i in range(3):\n    try:\n        if os.fork() == 0:\n            break\n"
           "    except OSError:\n        break\nwhile True:\n    pass\n")
    r = capped.run_python(src)
    assert r.status == "timeout", r
    assert r.elapsed_ms < 25_000, "stopped by the wall limit, not by the CPU total"
    assert r.cpu_s <= 1.0 + 0.6, f"{r.cpu_s:.2f} s of CPU under a 1 s cap ({capped.applied})"


def test_dev_shm_is_size_capped_and_dev_is_read_only(sb):
    src = """
import os
try:
    with open('/dev/shm/fill', 'wb') as f:
        for _ in range(64):
            f.write(b'x' * (1 << 20))
except OSError as e:
    print('shm full', e.errno)
print(os.path.getsize('/dev/shm/fill') >> 20)
for p in ['/dev/newfile', '/dev/shm2']:
    try:
        open(p, 'w')
        print('wrote', p)
    except OSError as e:
        print('ro', p, e.errno)
"""
    r = sb.run_python(src)
    lines = r.stdout.decode().splitlines()
    assert lines[0].startswith("shm full") and int(lines[1]) <= FAST.fsize_mb, r
    assert lines[2].startswith("ro /dev/newfile") and lines[3].startswith("ro /dev/shm2"), r


def test_no_nested_user_namespaces(sb):
    src = """
import subprocess
for cmd in (['unshare', '-U', 'true'], ['unshare', '-Ur', 'true'], ['bwrap', '--ro-bind', '/', '/', 'true']):
    try:
        print(cmd[0], subprocess.run(cmd, capture_output=True).returncode)
    except OSError as e:
        print(cmd[0], 'missing')
"""
    r = sb.run_python(src)
    assert r.status == "ok", r
    for line in r.stdout.decode().splitlines():
        assert line.split()[1] != "0", line


SYSCALLS = """
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
def call(nr, *args):
    r = libc.syscall(nr, *[ctypes.c_long(a) for a in args])
    return 0 if r >= 0 else ctypes.get_errno()
x86 = os.uname().machine == 'x86_64'
N = dict(mount=(165, 40), umount2=(166, 39), pivot_root=(155, 41), unshare=(272, 97), setns=(308, 268),
         ptrace=(101, 117), keyctl=(250, 219), add_key=(248, 217), bpf=(321, 280), perf_event_open=(298, 241),
         open_by_handle_at=(304, 265), kexec_load=(246, 104), init_module=(175, 105), finit_module=(313, 273),
         io_uring_setup=(425, 425), userfaultfd=(323, 282), process_vm_readv=(310, 270), fsopen=(430, 430),
         chroot=(161, 51), clone3=(435, 435))
for name, nrs in N.items():
    print(name, errno.errorcode.get(call(nrs[0 if x86 else 1], 0, 0, 0, 0, 0), 'OK'))
CLONE_NEWUSER, CLONE_NEWNS, SIGCHLD = 0x10000000, 0x20000, 17
print('clone_newuser', errno.errorcode.get(call(56 if x86 else 220, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0), 'OK'))
print('clone_newns', errno.errorcode.get(call(56 if x86 else 220, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0), 'OK'))
import threading, subprocess
t = threading.Thread(target=lambda: None); t.start(); t.join()
print('thread', 'ok')
print('subprocess', subprocess.run(['true']).returncode)
pid = os.fork()
if pid == 0:
    os._exit(7)
print('fork', os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


def test_seccomp_denies_the_kernel_surface(sb):
    assert sb.seccomp is not None and sb.applied.endswith("+seccomp")
    r = sb.run_python(SYSCALLS)
    assert r.status == "ok", r
    got = dict(line.split(" ", 1) for line in r.stdout.decode().splitlines())
    for name in ("mount", "umount2", "pivot_root", "unshare", "setns", "ptrace", "keyctl", "add_key", "bpf",
                 "perf_event_open", "open_by_handle_at", "kexec_load", "init_module", "finit_module",
                 "io_uring_setup", "userfaultfd", "process_vm_readv", "fsopen", "chroot",
                 "clone_newuser", "clone_newns"):
        assert got[name] == "EPERM", (name, got[name])
    assert got["clone3"] == "ENOSYS"
    assert got["thread"] == "ok" and got["subprocess"] == "0" and got["fork"] == "7"


def test_seccomp_program_is_well_formed():
    for machine in ("x86_64", "aarch64"):
        prog = sbmod.seccomp_program(machine)
        assert len(prog) % 8 == 0 and len(prog) // 8 < 256
    assert sbmod.seccomp_program("riscv64") is None


# ---- an interpreter anywhere (issue 11 item 5) ----------------------------------------------------------------

@pytest.fixture(params=["tmp", "work-dir", "home"])
def venv_dir(request, tmp_path):
    """A copied (not symlinked) venv under the temporary directory, under a work directory (the repository
    checkout: the sandbox mounts its own /work), and under $HOME."""
    import shutil
    import subprocess
    import sys
    base = {"tmp": tmp_path, "work-dir": Path(__file__).resolve().parents[1] / "results" / ".sandbox-scratch",
            "home": Path.home()}[request.param] / f"venv-{uuid.uuid4().hex[:8]}"
    base.mkdir(parents=True)
    (base / "sibling-secret.txt").write_text("must not be visible")
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    subprocess.run([py, "-m", "venv", "--copies", "--without-pip", str(base / "env")], check=True)
    yield base
    shutil.rmtree(base, ignore_errors=True)
    if request.param == "work-dir":
        shutil.rmtree(base.parent, ignore_errors=True) if not any(base.parent.iterdir()) else None


def test_interpreter_anywhere_runs_and_only_its_prefix_is_bound(venv_dir):
    env = venv_dir / "env"
    sb = Sandbox("bwrap", FAST, python=str(env / "bin" / "python3"))
    assert all(b == str(env) or not b.startswith(str(venv_dir)) for b in sb.binds), sb.binds
    r = sb.run_python(f"import sys, os\nprint(sys.prefix)\nprint(os.path.exists({str(venv_dir / 'sibling-secret.txt')!r}))")
    assert r.status == "ok", r
    assert r.stdout.decode().split() == [str(env), "False"]


def test_interpreter_that_cannot_run_is_one_line():
    with pytest.raises(SandboxUnavailable) as e:
        Sandbox("bwrap", FAST, python="/nonexistent/bin/python3")
    assert "\n" not in str(e.value) and "/nonexistent/bin/python3" in str(e.value)
