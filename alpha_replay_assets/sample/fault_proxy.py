"""A loopback HTTP proxy that injects faults between a real client and a real upstream server.

The product promises that every transport fault becomes a retried success, a row with a reason,
or a loud failure, never silent loss. Mocks cannot prove that: only real clients (boto3, the
`anthropic` SDK) talking over real sockets show what a 503, a reset connection, a truncated body
or a 200 that is not what it claims really turns into. This proxy sits between them and an
upstream (moto's S3 server, the loopback Messages API), forwards requests unchanged (the client's
Host header is kept, so SigV4 signatures stay valid) and, per `FaultRule`, answers some of them
with a fault instead. Faults are drawn from a seeded RNG (reproducible for the same request
order) and bounded in count and time, so a test can never become an endless outage. `hold()`
parks one request until `release()`, for race tests. Request headers are never logged: they carry
API keys and AWS signatures.

    python -m alpha_replay_assets.sample.fault_proxy --upstream http://127.0.0.1:PORT \\
        --fault http_503_slowdown=0.2 --fault reset=0.05 --seed 1 --max-faults 50 --max-seconds 600
"""

import argparse
import http.client
import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from alpha_replay_assets.sample.fault_rules import CANNED, FAULT_KINDS, FaultRule, parse_fault, request_matches

# Not forwarded in either direction: they describe one connection, not the message. Content-Length
# is recomputed from the body actually sent.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
                        "te", "trailer", "transfer-encoding", "upgrade", "expect", "content-length"})


class _Hold:
    def __init__(self, method: str | None, path: str, timeout_s: float):
        self.method, self.path, self.timeout_s = method, path, timeout_s
        self.taken = False
        self.held = threading.Event()
        self.released = threading.Event()


class FaultProxy:
    """The proxy, serving on 127.0.0.1 in a daemon thread from construction until `stop()`.

    Each request is matched against the rules in order; the first matching rule whose
    `max_count` is not used up fires with probability `rate`. No fault is injected once
    `max_faults` have been, or `max_seconds` after start. `hang_s` is how long a `hang` keeps
    the client waiting before closing (make it longer than the client's timeout);
    `retry_after_ms` goes in the `retry-after-ms` header of `http_429` and `http_529`.
    """

    def __init__(self, upstream: str, rules=(), *, seed: int = 0, max_faults: int = 100, max_seconds: float = 300.0,
                 hang_s: float = 90.0, retry_after_ms: int = 20, upstream_timeout_s: float = 60.0, port: int = 0):
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, got {upstream!r}")
        self.upstream = (parts.hostname, parts.port or 80)
        self.max_faults, self.max_seconds = max_faults, max_seconds
        self.hang_s, self.retry_after_ms, self.upstream_timeout_s = hang_s, retry_after_ms, upstream_timeout_s
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._counts: Counter[str] = Counter()
        self._rules: list[FaultRule] = []
        self._fired: list[int] = []
        self.set_rules(rules)
        self._hold: _Hold | None = None
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._started = time.monotonic()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), type("BoundHandler", (_Handler,), {"proxy": self}))
        self._httpd.block_on_close = False  # stop() must not wait for a hang or a slow upstream
        threading.Thread(target=self._httpd.serve_forever, args=(0.1,), name="fault-proxy", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def set_rules(self, rules) -> None:
        """Replace the rules; their `max_count`s start over."""
        rules = list(rules)
        with self._lock:
            self._rules, self._fired = rules, [0] * len(rules)

    def counts(self) -> dict[str, int]:
        """`connections`, and `requests`, `forwarded` (sent upstream, `truncate` included), `faults`,
        `held`, each also per method (`requests:GET`), plus `fault:<kind>`, `fault:<kind>:<method>`
        and `rule:<index>` (times that rule fired)."""
        with self._lock:
            return dict(self._counts) | {f"rule:{i}": n for i, n in enumerate(self._fired)}

    def reset_counts(self) -> None:
        """Zero every counter; `max_faults` counts again from zero (`max_seconds` does not restart)."""
        with self._lock:
            self._counts.clear()
            self._fired = [0] * len(self._rules)

    def hold(self, method: str | None, path: str, timeout_s: float = 60.0) -> None:
        """Hold the next request matching `method` and the `path` regex until `release()`, or
        forward it anyway after `timeout_s`. Replaces any earlier hold."""
        with self._lock:
            self._hold = _Hold(method, path, timeout_s)

    def wait_until_held(self, timeout: float) -> bool:
        hold = self._hold
        return hold is not None and hold.held.wait(timeout)

    def release(self) -> None:
        if self._hold is not None:
            self._hold.released.set()

    def stop(self) -> None:
        """Stop serving, end every hang and hold, and close every client connection."""
        self._stopping.set()
        self.release()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

    # -- used by the handler ------------------------------------------------------------------

    def _count(self, what: str, method: str) -> None:
        with self._lock:
            self._counts[what] += 1
            self._counts[f"{what}:{method}"] += 1

    def _take_hold(self, method: str, target: str) -> _Hold | None:
        with self._lock:
            hold = self._hold
            if hold is None or hold.taken or not request_matches(hold.method, hold.path, method, target):
                return None
            hold.taken = True
            self._counts["held"] += 1
            self._counts[f"held:{method}"] += 1
            return hold

    def _draw_fault(self, method: str, target: str) -> str | None:
        with self._lock:
            index = next((i for i, rule in enumerate(self._rules)
                          if (rule.max_count is None or self._fired[i] < rule.max_count)
                          and rule.matches(method, target)), None)
            if (index is None or self._counts["faults"] >= self.max_faults
                    or time.monotonic() - self._started >= self.max_seconds):
                return None
            rule = self._rules[index]
            if self._rng.random() >= rule.rate:
                return None
            self._fired[index] += 1
            for key in ("faults", f"faults:{method}", f"fault:{rule.kind}", f"fault:{rule.kind}:{method}"):
                self._counts[key] += 1
            return rule.kind


class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # otherwise headers and body in two writes + delayed ACK = 40 ms a request
    protocol_version = "HTTP/1.1"  # keep-alive: boto3 and the anthropic SDK reuse connections
    proxy: FaultProxy  # set on the subclass made per proxy

    def log_message(self, format, *args):  # noqa: A002 - no access log: paths and queries can carry signatures
        pass

    def setup(self):
        super().setup()
        with self.proxy._lock:
            self.proxy._connections.add(self.connection)
            self.proxy._counts["connections"] += 1

    def handle(self):
        try:
            super().handle()
        except ConnectionError:  # the client went away (reset, or gave up after its timeout)
            self.close_connection = True

    def finish(self):
        with self.proxy._lock:
            self.proxy._connections.discard(self.connection)
        super().finish()

    def _proxy(self):
        proxy, method, target = self.proxy, self.command, self.path
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True  # the body is not read, so the connection cannot be reused
            return self._reply(501, "text/plain", b"fault_proxy does not accept chunked request bodies")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None  # always read, or keep-alive breaks
        proxy._count("requests", method)
        hold = proxy._take_hold(method, target)
        if hold is not None:
            hold.held.set()
            hold.released.wait(hold.timeout_s)
        kind = proxy._draw_fault(method, target)
        if kind in CANNED:
            status, content_type, payload = CANNED[kind]
            retry = {"retry-after-ms": str(proxy.retry_after_ms)} if kind in ("http_429", "http_529") else {}
            return self._reply(status, content_type, payload, retry)
        if kind == "reset":
            return self._reset()
        if kind == "hang":
            proxy._stopping.wait(proxy.hang_s)
            self.close_connection = True
            return None
        try:
            status, reason, headers, payload = self._forward(method, target, body)
        except (OSError, http.client.HTTPException) as exc:
            return self._reply(502, "text/plain", f"fault_proxy: upstream failed: {type(exc).__name__}".encode())
        proxy._count("forwarded", method)
        self.send_response_only(status, reason)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP or (method == "HEAD" and name.lower() == "content-length"):
                self.send_header(name, value)
        if method != "HEAD":
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if kind == "truncate":
            self.wfile.write(payload[: len(payload) // 2])
            self.close_connection = True
        else:
            self.wfile.write(payload)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = _proxy

    def _forward(self, method: str, target: str, body: bytes | None):
        headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection(*self.proxy.upstream, timeout=self.proxy.upstream_timeout_s)
        try:
            upstream.request(method, target, body=body, headers=headers | {"Connection": "close"})
            response = upstream.getresponse()
            return response.status, response.reason, response.getheaders(), response.read()
        finally:
            upstream.close()

    def _reply(self, status: int, content_type: str, payload: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":  # a HEAD client reads no body: one would corrupt the next response
            self.wfile.write(payload)

    def _reset(self) -> None:
        """Close with SO_LINGER 0: the kernel sends RST, so the client sees a connection reset."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()  # the socket only really closes once its file objects are closed
        self.connection.close()
        self.close_connection = True


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True, help="http://host:port of the real server")
    parser.add_argument("--fault", type=parse_fault, action="append", default=[], metavar="KIND=RATE",
                        help=f"repeatable; KIND is one of {', '.join(FAULT_KINDS)}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-faults", type=int, default=100)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--hang-s", type=float, default=90.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    proxy = FaultProxy(args.upstream, args.fault, seed=args.seed, max_faults=args.max_faults,
                       max_seconds=args.max_seconds, hang_s=args.hang_s, port=args.port)
    print(proxy.url, flush=True)
    try:
        threading.Event().wait()  # until Ctrl-C
    except KeyboardInterrupt:
        pass
    finally:
        print(json.dumps(proxy.counts(), sort_keys=True), flush=True)
        proxy.stop()


if __name__ == "__main__":
    main()
