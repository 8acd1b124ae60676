"""Running a stage with logging, from a rule's script or from `python -m infscale`.

Known input errors (bad config, missing dataset field, model not found, engine failure, broken contract) end
the job with one line `infscale: <what is wrong>` on stderr (and in the log), exit status 1, and no output.
"""

from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager, nullcontext
from pathlib import Path

from .config import ConfigError
from .contracts import ContractError
from .engines import EngineError
from .model import ModelError
from .problems import DatasetError
from .verify.sandbox import SandboxUnavailable

KNOWN_ERRORS = (ConfigError, ContractError, DatasetError, ModelError, EngineError, SandboxUnavailable, FileNotFoundError)


TERMINAL = {"terminal": True}  # `log.info(..., extra=TERMINAL)`: a summary line that also shows on the terminal
FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def _for_terminal(record: logging.LogRecord) -> bool:
    """Summary lines and infscale's own warnings (an engine's go to the log only); errors reach the terminal as
    the one `infscale: ...` line of run_logged."""
    return getattr(record, "terminal", False) or (record.levelno == logging.WARNING
                                                  and record.name.split(".")[0] == "infscale")


class _TerminalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        return msg if getattr(record, "terminal", False) else f"infscale warning: {msg}"


def setup_logging(log_path: str | None = None, terminal=None) -> None:
    """Without a log file every record goes to stderr. With one, every record goes to the file and only summary
    lines and warnings go to `terminal` (a stream on the real terminal, see job_output)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(terminal or sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        # Append mode: a later logging.config.dictConfig (vLLM's start-up) closes every handler, and only a
        # FileHandler in append mode reopens its file on the next record (job_output truncated the file).
        handlers.append(logging.FileHandler(log_path, mode="a"))
        if terminal is not None:
            handlers[0].addFilter(_for_terminal)
            handlers[0].setFormatter(_TerminalFormatter())
    logging.basicConfig(level=logging.INFO, format=FORMAT, handlers=handlers, force=True)
    for h in handlers[1:]:
        h.setFormatter(logging.Formatter(FORMAT))


@contextmanager
def job_output(log_path: str):
    """Send this process's file descriptors 1 and 2 to the job's log file, so that whatever an engine prints at
    start-up and while it runs (vLLM's own logging config writes to stdout, its progress bars to stderr, and its
    engine process inherits both) lands in the log and not on the terminal. Yields a stream on the real terminal
    (the original stderr); the descriptors are restored on exit."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
    terminal = os.fdopen(os.dup(saved[2]), "w", buffering=1)
    try:
        for fd in (1, 2):
            os.dup2(log_fd, fd)
        yield terminal
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, dup in saved.items():
            os.dup2(dup, fd)
            os.close(dup)
        os.close(log_fd)
        terminal.close()


def run_logged(log_path: str | None, fn, *args, **kwargs):
    """Run one stage. With a log file (every rule has one) the file gets all output, engine logs included, and the
    terminal only summary lines, warnings and, on a known error, the one line `infscale: <what is wrong>`."""
    with job_output(log_path) if log_path else nullcontext() as terminal:
        setup_logging(log_path, terminal)
        try:
            return fn(*args, **kwargs)
        except KNOWN_ERRORS as e:
            msg = f"file not found: {e.filename or e}" if isinstance(e, FileNotFoundError) else str(e)
            if log_path:  # into the log file; the terminal gets the one `infscale:` line below (and only that)
                logging.getLogger("infscale").error("%s", msg)
        except Exception:
            logging.getLogger("infscale").exception("unexpected error")
            raise
        finally:
            if log_path:  # the terminal stream closes with job_output: log any later record to stderr alone
                logging.basicConfig(level=logging.INFO, format=FORMAT, force=True)
    raise SystemExit(f"infscale: {msg}")
