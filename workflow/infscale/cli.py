"""Running a stage with logging, from a rule's script or from `python -m infscale`.

Known input errors (bad config, missing dataset field, model not found, engine failure, broken contract) end
the job with one line `infscale: <what is wrong>` on stderr (and in the log), exit status 1, and no output.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from .config import ConfigError
from .contracts import ContractError
from .engines import EngineError
from .model import ModelError
from .problems import DatasetError
from .verify.sandbox import SandboxUnavailable

KNOWN_ERRORS = (ConfigError, ContractError, DatasetError, ModelError, EngineError, SandboxUnavailable, FileNotFoundError)


def setup_logging(log_path: str | None = None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        # Truncate here and append below: a later logging.config.dictConfig (vLLM's start-up) closes every
        # handler, and only a FileHandler in append mode reopens its file on the next record.
        Path(log_path).write_text("")
        handlers.append(logging.FileHandler(log_path, mode="a"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        handlers=handlers, force=True)


def run_logged(log_path: str | None, fn, *args, **kwargs):
    setup_logging(log_path)
    try:
        return fn(*args, **kwargs)
    except KNOWN_ERRORS as e:
        msg = f"file not found: {e.filename or e}" if isinstance(e, FileNotFoundError) else str(e)
        logging.getLogger("infscale").error("%s", msg)
        raise SystemExit(f"infscale: {msg}") from None
