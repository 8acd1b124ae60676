"""The OpenAI-compatible engine against a real `vllm serve` on 127.0.0.1, and its retry logic against a real
local HTTP server that fails before it answers."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler

import pytest

from infscale.engines import EngineError, OpenAIEngine
from workflow_helpers import send_json

SAMPLING = {"temperature": 0.8, "top_p": 1.0, "max_tokens": 16}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(smollm2_checkpoint, tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = dict(os.environ, VLLM_CPU_KVCACHE_SPACE="1", VLLM_CPU_NUM_OF_RESERVED_CPU="0")
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            # vllm-cpu's `vllm` CLI looks up the distribution "vllm" and fails; the server module is the same.
            [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", smollm2_checkpoint,
             "--host", "127.0.0.1", "--port", str(port),
             "--served-model-name", "smollm2", "--dtype", "float32", "--enforce-eager",
             "--max-model-len", "2048", "--max-num-batched-tokens", "32768"],
            stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 300
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"vllm serve exited {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(url + "/health", timeout=2)
                break
            except OSError:
                time.sleep(2)
        else:
            raise RuntimeError(f"vllm serve did not come up:\n{log.read_text()[-3000:]}")
        yield url
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=60)


def test_completions_and_chat_against_vllm_serve(server):
    eng = OpenAIEngine(server, "smollm2", concurrency=4, retries=1)
    prompts = ["Question: What is 2 plus 3?\nAnswer:"] * 3 + [[{"role": "user", "content": "Say hi."}]] * 3
    seeds = [1, 2, 1, 7, 8, 7]
    out = eng.generate(prompts, SAMPLING, seeds)
    assert out[0].text == out[2].text and out[3].text == out[5].text  # same seed, same sample
    assert len({o.text for o in out}) >= 3
    for o in out:
        assert 0 < o.completion_tokens <= 16 and o.prompt_tokens > 0
        assert o.finish_reason in {"stop", "length"}


class _Flaky(BaseHTTPRequestHandler):
    calls = 0
    per_seed: dict = {}
    in_flight = 0
    max_in_flight = 0
    lock = threading.Lock()

    def do_POST(self):  # noqa: N802
        cls = type(self)
        with cls.lock:
            cls.calls += 1
            cls.in_flight += 1
            cls.max_in_flight = max(cls.max_in_flight, cls.in_flight)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        time.sleep(0.05)
        with cls.lock:
            cls.in_flight -= 1
        if body["prompt"] == "bad":
            self.send_response(400)
            self.end_headers()
            self.wfile.write(b"bad request")
            return
        with cls.lock:
            tries = cls.per_seed[body["seed"]] = cls.per_seed.get(body["seed"], 0) + 1
        if tries <= 2:  # two failures for every request, then an answer
            self.send_response(503)
            self.end_headers()
            return
        out = {"choices": [{"text": f"seed={body['seed']}", "finish_reason": "stop"}],
               "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
        send_json(self, out)

    def log_message(self, *args):
        pass


@pytest.fixture()
def flaky():
    from http.server import ThreadingHTTPServer

    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    _Flaky.calls = _Flaky.in_flight = _Flaky.max_in_flight = 0
    _Flaky.per_seed = {}
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_retries_and_bounded_concurrency(flaky, monkeypatch):
    monkeypatch.setattr("infscale.engines.time.sleep", lambda s: None)  # no backoff wait in the test
    eng = OpenAIEngine(flaky, "m", concurrency=2, retries=5)
    out = eng.generate(["p"] * 6, SAMPLING, list(range(6)))
    assert [o.text for o in out] == [f"seed={i}" for i in range(6)]
    assert _Flaky.max_in_flight <= 2
    assert _Flaky.calls == 18  # every request failed twice and was retried


def test_client_error_is_not_retried_and_is_one_line(flaky):
    eng = OpenAIEngine(flaky, "m", concurrency=1, retries=5)
    with pytest.raises(EngineError) as e:
        eng.generate(["bad"], SAMPLING, [0])
    assert "HTTP 400" in str(e.value) and _Flaky.calls == 1


def test_unreachable_endpoint_gives_up(monkeypatch):
    monkeypatch.setattr("infscale.engines.time.sleep", lambda s: None)
    eng = OpenAIEngine(f"http://127.0.0.1:{_free_port()}", "m", retries=2, timeout_s=2)
    with pytest.raises(EngineError, match="gave up after 3 tries"):
        eng.generate(["p"], SAMPLING, [0])
