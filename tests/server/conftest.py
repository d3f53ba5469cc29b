"""Starts `kaiyuan serve` on a free loopback port with the stories260K fixture and hands tests an
official `openai` client pointed at it. KAIYUAN_BIN and KAIYUAN_FIXTURES come from ctest; run by
hand they default to build/*/tools/kaiyuan/kaiyuan and ../shared/fixtures."""
import glob
import json
import os
import socket
import subprocess
import time
import urllib.request

import openai
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.environ.get("KAIYUAN_FIXTURES", os.path.join(REPO, "..", "shared", "fixtures"))
MODEL = os.path.join(FIXTURES, "stories260K", "stories260K.gguf")
TEMPLATE = os.path.join(REPO, "tests", "server", "data", "chatml.jinja")
MODEL_ID = "stories260K"
API_KEY = "test-key-123"


def kaiyuan_bin():
    if os.environ.get("KAIYUAN_BIN"):
        return os.environ["KAIYUAN_BIN"]
    found = sorted(glob.glob(os.path.join(REPO, "build", "*", "tools", "kaiyuan", "kaiyuan")), key=os.path.getmtime)
    if not found:
        pytest.exit("no kaiyuan binary: build it or set KAIYUAN_BIN", 1)
    return found[-1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, *extra, api_key=API_KEY, env=None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.api_key = api_key
        args = [kaiyuan_bin(), "serve", MODEL, "--port", str(self.port), "--chat-template", TEMPLATE,
                "--alias", MODEL_ID, "-t", "2", *extra]
        if api_key:
            args += ["--api-key", api_key]
        self.log = open(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"kaiyuan-serve-{self.port}.log"), "w+")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("kaiyuan serve exited: " + self.read_log())
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("kaiyuan serve did not become healthy: " + self.read_log())

    def read_log(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def client(self, **kw):
        kw.setdefault("api_key", self.api_key or "none")
        return openai.OpenAI(base_url=self.base + "/v1", max_retries=0, **kw)

    def request(self, method, path, body=None, headers=None, raw=None):
        """Plain HTTP (for what the openai client will not send): returns (status, headers, bytes)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        h = {"Content-Type": "application/json"}
        if self.api_key:
            h["Authorization"] = "Bearer " + self.api_key
        h.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        log = self.read_log()
        self.log.close()
        # A sanitizer report in the server's own log fails the suite, even where every client was answered.
        for marker in ("WARNING: ThreadSanitizer", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if marker in log:
                raise AssertionError("kaiyuan serve reported a sanitizer error:\n" + log[max(0, log.index(marker) - 200):][:20000])


@pytest.fixture(scope="session")
def server():
    s = Server("--parallel", "4", "--queue", "256")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def client(server):
    return server.client()


def kaiyuan_run(prompt, n):
    """`kaiyuan run` greedy output text (the reference the server must match)."""
    out = subprocess.run([kaiyuan_bin(), "run", MODEL, "-p", prompt, "-n", str(n), "--temp", "0", "--json", "-t", "1"],
                         capture_output=True, check=True, timeout=300)
    return json.loads(out.stdout)
