"""Config validation and per-entry lookups.

Validation happens before anything runs: a bad key or value raises ConfigError with one line that names the key
and what is allowed. Lookups return only the entry a job needs (its own model and dataset), so adding a model
does not change the params of any existing job and does not rerun it.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"


class ConfigError(ValueError):
    """A config that does not fit config/schema.yaml; the message is one line."""


def _dotted(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _one_line(err: jsonschema.ValidationError) -> str:
    where = _dotted(err.absolute_path)
    schema = err.schema if isinstance(err.schema, dict) else {}
    if err.validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed)) if isinstance(err.instance, dict) else []
        key = f"{where}.{extra[0]}" if where != "<top level>" and extra else (extra[0] if extra else where)
        return f"config key '{key}' is not allowed here; allowed: {', '.join(allowed)}"
    if err.validator == "enum":
        return f"config key '{where}' = {err.instance!r} is not allowed; allowed: {', '.join(map(str, err.validator_value))}"
    if err.validator == "required":
        return f"config key '{where}' is missing a required entry: {err.message}"
    if err.validator == "oneOf":
        opts = [sorted(o.get("required", [])) for o in err.validator_value]
        choices = " | ".join("+".join(o) for o in opts)
        return f"config key '{where}' must have exactly one of: {choices} (has {', '.join(sorted(err.instance)) if isinstance(err.instance, dict) else err.instance!r})"
    if err.validator == "propertyNames":
        return f"config key '{where}': name {err.instance!r} is not allowed ({err.message})"
    return f"config key '{where}': {err.message}"


def load_schema(path: Path = SCHEMA_PATH) -> dict:
    return yaml.safe_load(Path(path).read_text())


@functools.cache
def _schema() -> dict:
    """config/schema.yaml, read once per process (the lookups of defaults below never change it)."""
    return load_schema()


# ---- schema defaults: config/schema.yaml is their one home ---------------------------------------------------

def _deref(node: dict, root: dict) -> dict:
    """`node` with its $ref resolved (a local "#/..." pointer); sibling keywords are merged over the target, so
    `{$ref: "#/$defs/sampling", properties: {temperature: {default: 0.6}}}` adds defaults at one place of use."""
    if not isinstance(node, dict) or "$ref" not in node:
        return node
    target = root
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return _merged(_deref(target, root), {k: v for k, v in node.items() if k != "$ref"})


def _merged(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _creatable(node: dict, root: dict) -> bool:
    """A missing mapping is created (and filled) when it has defaults below it and needs no entry of its own."""
    node = _deref(node, root)
    return (node.get("type") == "object" and not node.get("required")
            and any("default" in _deref(sub, root) or _creatable(sub, root)
                    for sub in node.get("properties", {}).values()))


def _fill(node: dict, value, root: dict) -> None:
    node = _deref(node, root)
    if not isinstance(value, dict):
        return
    props = node.get("properties", {})
    for key, sub in props.items():
        sub = _deref(sub, root)
        if key not in value:
            if "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            elif _creatable(sub, root):
                value[key] = {}
        if key in value:
            _fill(sub, value[key], root)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        for key in value:
            if key not in props:
                _fill(extra, value[key], root)


def fill_defaults(config: dict, schema: dict | None = None) -> dict:
    """Write every `default:` of the schema that `config` leaves unset into it, in place (and return it).

    Defaults sit only at a layered key's base (`defaults.sampling.temperature`, `verify.cache`, ...), never at an
    override layer (`datasets.<d>.sampling`), so an unset override never masks the base. Missing mappings with
    defaults below them are created; oneOf/anyOf branches are not entered."""
    schema = schema or _schema()
    _fill(schema, config, schema)
    return config


def _node(keys: tuple[str, ...]) -> dict:
    """The schema node at a path of keys; "*" (or any name not among the properties) steps into a mapping's
    additionalProperties, e.g. ("datasets", "*", "prompt")."""
    schema = node = _schema()
    for k in keys:
        node = _deref(node, schema)
        node = node["properties"][k] if k in node.get("properties", {}) else node["additionalProperties"]
    return _deref(node, schema)


def schema_default(*keys: str):
    """The schema's default at a path of keys (e.g. "verify", "code"): a leaf's default as is, a mapping's
    defaults as a dict, None without one."""
    node = _node(keys)
    if "default" in node:
        return copy.deepcopy(node["default"])
    out: dict = {}
    _fill(node, out, _schema())
    return out or None


def with_defaults(entry: dict | None, *keys: str) -> dict:
    """A copy of one config entry (at a path of keys, as for schema_default) with the schema's defaults filled
    in: for library functions that take an entry rather than a validated config (the problems spec, a prompt
    entry, a release spec), which also get entries built by hand."""
    out = copy.deepcopy(entry or {})
    _fill(_node(keys), out, _schema())
    return out


def validate(config: dict, schema: dict | None = None) -> None:
    """Raise ConfigError (one line) unless `config` fits the schema and the cross-field rules; then fill in the
    schema's defaults, in place (fill_defaults), so that every lookup reads a complete config."""
    schema = schema or _schema()
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), str(e.absolute_path)))
    if errors:
        # Deepest, most specific error first: it names the offending key.
        best = max(errors, key=lambda e: len(e.absolute_path))
        raise ConfigError(_one_line(best))
    fill_defaults(config, schema)
    datasets = config["datasets"]
    for name, model in config["models"].items():
        for ds in model.get("datasets", []):
            if ds not in datasets:
                raise ConfigError(
                    f"config key 'models.{name}.datasets' names unknown dataset {ds!r}; allowed: {', '.join(datasets)}")
    for name, model in config["models"].items():
        entry = model.get("shape")
        if entry and not has_flops(config, name):
            raise ConfigError(
                f"config key 'models.{name}.shape' needs {', '.join(SHAPE_KEYS)} or config_json (the model's source "
                "has no config.json to read the rest from)")
    for name in datasets:
        k, s = samples(config, name), samples_per_shard(config, name)
        if k % s:
            raise ConfigError(
                f"config key 'datasets.{name}.samples' = {k} must be a multiple of samples_per_shard = {s}, "
                "so that raising it only appends shards")


def load(path: str | Path) -> dict:
    config = yaml.safe_load(Path(path).read_text()) or {}
    validate(config)
    return config


# ---- lookups -------------------------------------------------------------------------------------------------

def canonical(value: Any) -> Any:
    """`value` with every mapping's keys in sorted order, at any depth (lists keep their order).

    Snakemake decides a params rerun by comparing repr() of each param, and a dict's repr follows its key order:
    every rule passes its params through this, so the same content in any key order, layout or comments reruns
    nothing."""
    if isinstance(value, dict):
        return {k: canonical(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    return value


# The keys of a dataset entry that the problems table depends on (infscale.problems.build_problems); samples,
# sampling, verifier, prompt style/instruction and adaptive only matter later, so they never rerun it.
PROBLEM_KEYS = ("source", "domain", "fields", "filter", "subset", "reference_format")


def problems_spec(config: dict, dataset: str) -> dict:
    """What prepare_problems reads from datasets.<d>: the PROBLEM_KEYS and the prompt's few-shot draw."""
    d = config["datasets"][dataset]
    out = {k: d[k] for k in PROBLEM_KEYS if k in d}
    fewshot = d["prompt"].get("fewshot")
    if fewshot:
        out["prompt"] = {"fewshot": fewshot}
    return canonical(out)


# The lookups read a validated config, whose schema defaults are filled in (fill_defaults): no fallbacks here.

def samples(config: dict, dataset: str) -> int:
    """K: datasets.<d>.samples over defaults.samples."""
    return int(config["datasets"][dataset].get("samples", config["defaults"]["samples"]))


def samples_per_shard(config: dict, dataset: str) -> int:
    return int(config["datasets"][dataset].get("samples_per_shard", config["defaults"]["samples_per_shard"]))


def shards(config: dict, dataset: str) -> list[int]:
    return list(range(samples(config, dataset) // samples_per_shard(config, dataset)))


def adaptive(config: dict, dataset: str) -> dict | None:
    """The dataset's live adaptive-sampling policy {policy, solved} (datasets.<d>.adaptive), or None when off."""
    spec = config["datasets"][dataset].get("adaptive")
    return None if not spec else canonical({"policy": spec["policy"], "solved": int(spec["solved"])})


def model_datasets(config: dict, model: str) -> list[str]:
    return list(config["models"][model].get("datasets", config["datasets"]))


def pairs(config: dict) -> list[tuple[str, str]]:
    """Every (model, dataset) pair the config asks for."""
    return [(m, d) for m in config["models"] for d in model_datasets(config, m)]


def sampling(config: dict, model: str, dataset: str) -> dict:
    """Sampling params: config defaults (with the schema's) < dataset < model."""
    out = dict(config["defaults"]["sampling"])
    out.update(config["datasets"][dataset].get("sampling", {}))
    out.update(config["models"][model].get("sampling", {}))
    return out


def engine(config: dict, model: str) -> dict:
    """Engine settings for one model: global `engine` with the model's own `engine.args` merged over it."""
    out = copy.deepcopy(config["engine"])
    args = dict(out["args"])
    args.update(config["models"][model].get("engine", {}).get("args", {}))
    tp = config["models"][model]["tensor_parallel"]
    if tp > 1:  # 1 is vLLM's own default: left out, as when the key is unset
        args["tensor_parallel_size"] = tp
    out["args"] = args
    if "openai" in config["models"][model]["source"]:
        out["kind"] = "openai"
    return out


# The rules that start a model on its engine and take `gpu=gpus(config, model)` as a resource. Both SLURM profiles
# import this list (profiles/*/config.yaml, `__definitions__`) to send these jobs to the GPU partition;
# tests/test_slurm.py checks it is exactly the rules a dry run shows asking for GPUs.
GPU_RULES = ("generate_shard", "search_prm_score", "search_strategy", "score")


def gpus(config: dict, model: str) -> int:
    """GPUs of one job that runs this model on its engine (generation, search, scoring, the plan's GPU-hours):
    the model's `tensor_parallel` entry (schema default 1). The rules' `gpu` resource, which the SLURM profiles
    turn into `--gpus` in the GPU partition."""
    return int(config["models"][model]["tensor_parallel"])


# ---- per-job parameter sets (used by the rules and by `python -m infscale`) ----------------------------------

def checkpoint(config: dict, model: str) -> str | None:
    from .model import checkpoint_name

    return checkpoint_name(config["models"][model]["source"])


def checkpoint_dir(config: dict, model: str) -> str | None:
    """layout.CHECKPOINT: the converted HF checkpoint of a GGUF model (None for other sources)."""
    from .layout import CHECKPOINT

    name = checkpoint(config, model)
    return CHECKPOINT.format(checkpoint=name) if name else None


# ---- model shape, family and price: the one home of `models.<m>.shape` (compute plan and FLOPs rules) -------

SHAPE_KEYS = ("n_params", "n_layers", "d_model")


def shape_entry(config: dict, model: str) -> dict:
    """The model's `shape` entry ({} when absent): {n_params, n_layers, d_model}, or {config_json} with an
    optional n_params override (active parameters of an MoE model)."""
    return dict(config["models"][model].get("shape") or {})


def model_config_json(config: dict, model: str) -> str | None:
    """Where a model's HF config.json is read from when its shape entry does not give the shape outright:
    shape.config_json, the converted checkpoint (GGUF models) or a local HF checkpoint dir (source.path)."""
    entry = shape_entry(config, model)
    if all(k in entry for k in SHAPE_KEYS):
        return None
    if "config_json" in entry:
        return entry["config_json"]
    src = config["models"][model]["source"]
    return checkpoint_dir(config, model) or src.get("path")


def has_flops(config: dict, model: str, dataset: str | None = None) -> bool:
    """True when FLOPs can be computed for the model: a full shape, or a config.json to read it from.

    With `dataset`, also that the pair's samples have token counts (imported releases need a tokenizer)."""
    entry = shape_entry(config, model)
    shaped = all(k in entry for k in SHAPE_KEYS) or model_config_json(config, model) is not None
    return shaped and (dataset is None or has_tokens(config, model, dataset))


def has_price(config: dict, model: str, dataset: str | None = None) -> bool:
    """True when the model has a price; with `dataset`, also token counts on it (as for has_flops)."""
    return "price" in config["models"][model] and (dataset is None or has_tokens(config, model, dataset))


def has_tokens(config: dict, model: str, dataset: str) -> bool:
    """False for a release whose tokenizer can't be had (release.tokens_reason says why): no FLOPs, no cost."""
    from .release import tokens_reason  # release reads datasets; imported only when asked
    return tokens_reason(config, model, dataset) is None


def family(config: dict, model: str) -> str:
    """The model's family for compute-matched comparisons; a model without one is its own family."""
    return config["models"][model].get("family") or model


def _matchable(config: dict) -> list[tuple[str, str]]:
    """The (model, dataset) pairs a matched comparison can place: with FLOPs or a price."""
    return [(m, d) for m, d in pairs(config) if has_flops(config, m, d) or has_price(config, m, d)]


def family_models(config: dict, fam: str, dataset: str) -> list[str]:
    """Models of family `fam` on `dataset` that a matched comparison can place (FLOPs or a price)."""
    return [m for m, d in _matchable(config) if d == dataset and family(config, m) == fam]


def families(config: dict, dataset: str) -> list[str]:
    """The families with a matched table on `dataset` (one per family; a model without one is its own)."""
    return sorted({family(config, m) for m, d in _matchable(config) if d == dataset})


def checkpoint_source(config: dict, name: str) -> dict:
    """The GGUF source of converted checkpoint `name` (first model entry that uses it)."""
    for m in config["models"]:
        if checkpoint(config, m) == name:
            return config["models"][m]["source"]
    raise ConfigError(f"no model in the config converts to checkpoint {name!r}")


def generate_job(config: dict, model: str, dataset: str) -> dict:
    """Everything generate_shard needs, drawn only from this model's and this dataset's entries.

    The prompt entry without its few-shot draw (that lives in the problems table, an input), and not K: raising
    K adds shards and changes none."""
    m, d = config["models"][model], config["datasets"][dataset]
    prompt = {k: v for k, v in d["prompt"].items() if k != "fewshot"}
    return canonical({
        "model": model, "dataset": dataset, "samples_per_shard": samples_per_shard(config, dataset),
        "sampling": sampling(config, model, dataset), "prompt_cfg": prompt,
        "chat": bool(m["chat"]), "source": m["source"], "engine_cfg": engine(config, model),
    })


def verify_options(config: dict, dataset: str) -> dict:
    """Shared `verify` settings (but threads) with the dataset's own `verifier` entry merged over them, plus the dataset's prompt
    style (`style`: the math verifier extracts the answer in the format that style asks for)."""
    d = config["datasets"][dataset]
    # verify.threads is how many workers, not what they decide: left out so that changing it reruns nothing
    out = {k: copy.deepcopy(v) for k, v in config["verify"].items() if k != "threads"}
    out.update(copy.deepcopy(d["verifier"]))
    if d["domain"] == "math":
        out["style"] = d["prompt"]["style"]
    return canonical(out)


def verify_threads(config: dict) -> int:
    """Threads of one verify_shard job (verify.threads): the rule's `threads`, and the SWE-bench harness's
    workers when verify.swebench.max_workers is unset."""
    return int(config["verify"]["threads"])


def lenient_extraction(config: dict, dataset: str) -> bool:
    """Does this dataset opt in to lenient answer extraction (`datasets.<d>.verifier.extraction: lenient`)?"""
    return config["datasets"][dataset]["verifier"]["extraction"] == "lenient"


def release_subsets(config: dict) -> dict[str, tuple[str, str]]:
    """Release subset name → (model, dataset), from models.<m>.releases.<d>.subset (Monkeys release layout)."""
    out = {}
    for m, entry in config["models"].items():
        for d, rel in (entry.get("releases") or {}).items():
            if rel.get("subset"):
                out[rel["subset"]] = (m, d)
    return out
