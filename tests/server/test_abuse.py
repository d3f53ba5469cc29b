"""Hostile and broken clients: slow and stalled senders, half-closed and dropped connections,
oversized and malformed requests, more connections than slots, SIGTERM under load. After each,
a healthy client still gets the right answer and the server's descriptors (and, without
sanitizers, its resident memory) come back to their baseline."""
import json
import os
import signal
import socket
import struct
import threading
import time

import pytest

from conftest import API_KEY, MODEL_ID, Server
from test_load_and_ops import MIB, rss_and_fds, settled_fds

TIMEOUT_S = 2          # the server's --timeout: a silent client is dropped after this long
REQUEST_TIMEOUT_S = 4  # the server's --request-timeout: one request's headers and body, in all
MAX_BODY = 64 * 1024   # the server's --max-body
AUTH = f"Authorization: Bearer {API_KEY}\r\n".encode()
SANITIZED = bool(os.environ.get("KAIYUAN_SANITIZED"))


class Baseline:
    def __init__(self, server):
        self.server = server
        self.pid = server.proc.pid
        self.expected = self.complete("Tim")
        self.fds = settled_fds(self.pid, quiet_s=1, limit_s=20)
        self.rss = rss_and_fds(self.pid)[0]

    def complete(self, prompt):
        status, _, body = self.server.request("POST", "/v1/completions",
                                              {"model": MODEL_ID, "prompt": prompt, "max_tokens": 8, "temperature": 0})
        assert status == 200, body
        return json.loads(body)["choices"][0]["text"]

    def assert_recovered(self):
        """Idle engine, the same greedy answer, descriptors and memory back to where they were."""
        deadline = time.time() + 30
        while time.time() < deadline:
            health = json.loads(self.server.request("GET", "/health")[2])
            if health["active"] == 0 and health["queued"] == 0:
                break
            time.sleep(0.1)
        assert health["active"] == 0 and health["queued"] == 0, health
        assert self.complete("Tim") == self.expected
        # Leaves room for allocator growth, not for a leak per connection. Resident memory rises
        # 14-16 MiB once between this module's first two tests (measured the same on d394250 and
        # after it; no test alone reproduces it; later tests add ~1 MiB in all), which a 16 MiB
        # allowance failed on about half of the runs.
        rss_limit = float("inf") if SANITIZED else max(self.rss * 1.2, self.rss + 20 * MIB)
        deadline = time.time() + 20
        while time.time() < deadline:
            rss, fds = rss_and_fds(self.pid)
            if fds == self.fds and rss <= rss_limit:
                break
            time.sleep(0.1)
        assert fds == self.fds, f"{fds} open descriptors, {self.fds} before: " + " ".join(
            sorted(os.readlink(f"/proc/{self.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{self.pid}/fd")))
        assert rss <= rss_limit, f"RSS {rss / MIB:.1f} MiB, {self.rss / MIB:.1f} MiB before"


@pytest.fixture(scope="module")
def srv():
    s = Server("--parallel", "2", "--queue", "64", "--timeout", str(TIMEOUT_S), "--request-timeout",
               str(REQUEST_TIMEOUT_S), "--max-body", str(MAX_BODY), "--quiet")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def baseline(srv):
    return Baseline(srv)


def connect(server, timeout=10):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_all(sock, limit_s=10):
    """Everything the server sends until it closes the connection (or `limit_s` passes)."""
    sock.settimeout(limit_s)
    out = b""
    deadline = time.time() + limit_s
    while time.time() < deadline:
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not chunk:
            break
        out += chunk
    return out


def closed_by_server(sock, limit_s):
    """True once the server closes the connection (EOF or reset), False if `limit_s` passes first."""
    sock.settimeout(0.2)
    deadline = time.time() + limit_s
    while time.time() < deadline:
        try:
            if sock.recv(65536) == b"":
                return True
        except socket.timeout:
            continue
        except OSError:
            return True
    return False


def status_of(response):
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else None


def post_raw(path, body, extra=b""):
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n").encode() + AUTH + extra + b"\r\n" + body


def reset(sock):
    """Closes with a TCP RST (SO_LINGER 0), as a crashed client or a dropped link looks."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_slow_clients_neither_block_others_nor_stay(srv, baseline):
    # Slowloris: clients trickle a request's headers a byte at a time, never finishing.
    stop = threading.Event()
    trickling = [connect(srv) for _ in range(8)]

    def trickle(sock):
        for b in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000:
            if stop.wait(0.2):
                return
            try:
                sock.send(bytes([b]))
            except OSError:
                return
    threads = [threading.Thread(target=trickle, args=(s,)) for s in trickling]
    trickle_start = time.time()
    for t in threads:
        t.start()
    # Clients that send part of their headers and then go silent.
    stalled = [connect(srv) for _ in range(8)]
    for s in stalled:
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Le")
    try:
        # Healthy clients are answered promptly meanwhile.
        for _ in range(5):
            t0 = time.time()
            assert baseline.complete("Tim") == baseline.expected
            assert time.time() - t0 < 2.0
        # The silent ones are dropped once --timeout passes without a byte from them.
        t0 = time.time()
        for s in stalled:
            read_all(s, limit_s=TIMEOUT_S + 8)
        assert time.time() - t0 < TIMEOUT_S + 8
        # The trickling ones never fall silent, so --timeout never fires for them: --request-timeout
        # closes them once they have spent that long on one request (they would take 200 s).
        for s in trickling:
            assert closed_by_server(s, limit_s=REQUEST_TIMEOUT_S + 6)
        assert time.time() - trickle_start < REQUEST_TIMEOUT_S + 6
    finally:
        stop.set()
        for t in threads:
            t.join()
        for s in trickling + stalled:
            s.close()
    baseline.assert_recovered()


def test_endless_headers_are_cut(srv, baseline):
    # Short header lines sent as fast as possible: each is under cpp-httplib's per-line limit, and it
    # caps neither their number nor their total; the server's 64 KiB header cap closes the connection.
    s = connect(srv)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    line = b"X-Flood: " + b"a" * 90 + b"\r\n"
    block = line * 1000  # ~100 KB
    sent = 0
    t0 = time.time()
    closed = False
    while time.time() - t0 < 20 and sent < 512 * MIB:
        try:
            s.sendall(block)
        except OSError:
            closed = True
            break
        sent += len(block)
    s.close()
    # Before the cut only what the kernel buffers hold can be in flight, far below what was allowed.
    assert closed, f"sent {sent / MIB:.0f} MiB of headers in {time.time() - t0:.0f} s without being cut"
    assert sent < 64 * MIB, sent
    baseline.assert_recovered()


def test_half_closed_connections(srv, baseline):
    # A client that sends its whole request and shuts its sending side gets the answer when it is
    # ready at once; an answer that takes longer is streamed, and cpp-httplib then takes the EOF for
    # a client that went away (is_socket_alive) and cancels it: either way, no hang and no leak.
    s = connect(srv)
    s.sendall(post_raw("/v1/completions", json.dumps({"model": MODEL_ID, "prompt": "Tim", "max_tokens": 8,
                                                      "temperature": 0}).encode()))
    s.shutdown(socket.SHUT_WR)
    response = read_all(s)
    s.close()
    assert status_of(response) in (200, None), response[:200]
    if status_of(response) == 200 and b"Transfer-Encoding: chunked" not in response:
        assert json.loads(response.split(b"\r\n\r\n", 1)[1])["choices"][0]["text"] == baseline.expected
    # Half a request then EOF, and EOF with nothing at all: the server closes without answering 200
    # (the partial one carries no API key, so it may be refused with 401 once its headers are read).
    for partial in [b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"model\"", b""]:
        s = connect(srv)
        s.sendall(partial)
        s.shutdown(socket.SHUT_WR)
        assert status_of(read_all(s)) in (None, 400, 401)
        s.close()
    baseline.assert_recovered()


def test_oversized_requests(srv, baseline):
    cases = [
        # One header line past httplib's 8 KiB line limit.
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\nConnection: close\r\n\r\n", (400, 431)),
        # A request target past httplib's 8 KiB URI limit.
        (b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", (414,)),
        # A body larger than --max-body, sent whole.
        (post_raw("/v1/completions", b"{\"prompt\": \"" + b"a" * (2 * MAX_BODY) + b"\"}"), (413,)),
        # A Content-Length far past --max-body: refused before any of the body is read.
        (b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1000000000000\r\n"
         + AUTH + b"\r\n", (413,)),
    ]
    for request, statuses in cases:
        s = connect(srv)
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading everything: the answer is still there
        response = read_all(s)
        s.close()
        assert status_of(response) in statuses, response[:200]
    baseline.assert_recovered()


def test_deeply_nested_json_is_refused(srv, baseline):
    # nlohmann's dump() recurses per level: before the depth limit this body overflowed the stack.
    depth = 30000
    body = (b'{"model": "' + MODEL_ID.encode() + b'", "messages": [{"role": "user", "content": "x", "extra": '
            + b"[" * depth + b"]" * depth + b"}]}")
    status, _, out = srv.request("POST", "/v1/chat/completions", raw=body)
    assert status == 400 and b"deeper than" in out
    baseline.assert_recovered()


def test_invalid_utf8(srv, baseline):
    bodies = [
        b'{"model": "' + MODEL_ID.encode() + b'", "prompt": "caf\xc3"}',              # truncated sequence
        b'{"model": "' + MODEL_ID.encode() + b'", "prompt": "\xff\xfe"}',             # bytes never valid
        b'{"model": "' + MODEL_ID.encode() + b'", "prompt": "\xed\xa0\x80"}',         # an encoded surrogate
        b'{"model": "' + MODEL_ID.encode() + b'", "prompt": "\\ud800"}',              # a lone escaped surrogate
        b"\x00\xff\x80binary garbage\xc0\xaf",
    ]
    for body in bodies:
        status, _, out = srv.request("POST", "/v1/completions", raw=body)
        assert status == 400, (body, out)
        assert json.loads(out)["error"]["type"] == "invalid_request_error"
    # Invalid UTF-8 in a path echoed into an error message still yields valid JSON.
    s = connect(srv)
    s.sendall(b"GET /v1/models/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + AUTH + b"\r\n")
    response = read_all(s)
    s.close()
    assert status_of(response) in (400, 404)
    json.loads(response.split(b"\r\n\r\n", 1)[1])
    baseline.assert_recovered()


def test_more_connections_than_slots(srv, baseline):
    # 24 clients at once on 2 slots: every request queues and gets the same greedy answer.
    results, errors = [], []

    def worker():
        try:
            for _ in range(3):
                results.append(baseline.complete("Tim"))
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
    threads = [threading.Thread(target=worker) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and results == [baseline.expected] * 72
    baseline.assert_recovered()


def test_random_disconnects_mid_stream(srv, baseline):
    body = json.dumps({"model": MODEL_ID, "prompt": "Once upon a time", "max_tokens": 100, "stream": True}).encode()
    for i in range(16):
        s = connect(srv)
        s.sendall(post_raw("/v1/completions", body))
        if i % 4:
            s.recv(1 + i * 37)  # part of the stream: the headers, maybe some events
        if i % 2:
            reset(s)
        else:
            s.close()
    baseline.assert_recovered()


def test_metrics_labels_are_routes_not_paths(srv, baseline):
    for i in range(20):
        srv.request("GET", f"/v1/models/unknown{i}%22%7D")
    text = srv.request("GET", "/metrics")[2].decode()
    lines = [line for line in text.splitlines() if line.startswith("kaiyuan_requests_total{")]
    assert not any("unknown" in line for line in lines), lines
    assert any('route="/v1/models/{model}",status="404"' in line for line in lines), lines
    baseline.assert_recovered()


def test_sigterm_under_load():
    grace = 3
    s = Server("--parallel", "2", "--quiet", "--shutdown-grace", str(grace))
    outcomes, stop = [], threading.Event()
    stream_body = json.dumps({"model": MODEL_ID, "prompt": "Once upon a time", "max_tokens": 100,
                              "stream": True}).encode()

    def streamer():
        while not stop.is_set():
            try:
                sock = connect(s, timeout=30)
                sock.sendall(post_raw("/v1/completions", stream_body))
                response = read_all(sock, limit_s=30)
                sock.close()
            except OSError:
                outcomes.append("refused")
                return
            if status_of(response) == 200:
                # A stream ends with [DONE], or is cut mid-way by the shutdown: never a hang.
                outcomes.append("done" if response.endswith(b"data: [DONE]\n\n\r\n0\r\n\r\n") else "cut")
            else:
                outcomes.append(status_of(response) or "closed")
    threads = [threading.Thread(target=streamer) for _ in range(8)]
    try:
        for t in threads:
            t.start()
        time.sleep(1.0)
        t0 = time.time()
        s.proc.send_signal(signal.SIGTERM)
        assert s.proc.wait(grace + 10) == 0
        exited_s = time.time() - t0
        stop.set()
        for t in threads:
            t.join(40)
        assert not any(t.is_alive() for t in threads)
    finally:
        stop.set()
        s.stop()
    assert exited_s < grace + 10
    assert outcomes.count("done") >= 1, outcomes
    assert set(outcomes) <= {"done", "cut", "refused", "closed", 503}, outcomes
