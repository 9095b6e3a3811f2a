"""The embedded S3-compatible server: moto's server mode on loopback, in its own process.

Wrapped in a small WSGI middleware that (1) counts requests and the response body bytes it
serves, per method and per what they touched, so tests can prove a dry run made no request and a
window read downloaded only the columns it uses, and (2) optionally adds a fixed per-request
latency, so benchmarks compare serial and concurrent designs under the same S3 first-byte
latency. Run as a module; it prints its port.
"""

import argparse
import json
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass

CONTROL_PATH = "/_alpha_replay/requests"


class CountingLatencyMiddleware:
    def __init__(self, app, latency_s: float):
        self.app, self.latency_s = app, latency_s
        self.counts: Counter[str] = Counter()  # requests
        self.bytes: Counter[str] = Counter()  # response body bytes served, under the same names
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if path == CONTROL_PATH:
            with self.lock:
                if method == "DELETE":
                    self.counts.clear()
                    self.bytes.clear()
                if method == "PUT":  # ?latency_ms=N changes the latency model for every client
                    self.latency_s = float(environ.get("QUERY_STRING", "").partition("=")[2] or 0) / 1000
                body = json.dumps({"requests": self.counts, "bytes": self.bytes}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        names = (method, f"{method} {_category(path)}", "total")
        with self.lock:
            self.counts.update(names)
        if self.latency_s:
            time.sleep(self.latency_s)
        return self._counted(self.app(environ, start_response), names)

    def _counted(self, body, names):
        """The response body as it is sent, each chunk counted under `names`."""
        try:
            for chunk in body:
                with self.lock:
                    for name in names:
                        self.bytes[name] += len(chunk)
                yield chunk
        finally:
            if hasattr(body, "close"):
                body.close()


def _category(path: str) -> str:
    """What a request touched: an alpha-replay output kind, a meta-prefix, the capture corpus, or
    the bucket itself (a listing)."""
    segments = path.split("/")
    if len([s for s in segments if s]) <= 1:
        return "bucket"
    if "_alpha_replay" in segments:
        rest = segments[segments.index("_alpha_replay") + 1 :]
        return rest[0] if rest else "_alpha_replay"
    return next((s for s in segments if s.startswith("_")), "capture")


def serve(port: int, latency_ms: float) -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = CountingLatencyMiddleware(DomainDispatcherApplication(create_backend_app), latency_ms / 1000)
    server = make_server("127.0.0.1", port, app, threaded=True)
    print(server.port, flush=True)
    server.serve_forever()


@dataclass
class LocalS3:
    """Handle on a running server: its endpoint, request counters, and shutdown."""

    endpoint_url: str
    process: subprocess.Popen

    def request_counts(self) -> dict[str, int]:
        """Requests since the last reset: per method (`GET`), per method and what it touched
        (`GET artifact_index`, `GET capture`, ...) and `total`."""
        return self._counters()["requests"]

    def bytes_served(self) -> dict[str, int]:
        """Response body bytes sent since the last reset, under the same names as the requests."""
        return self._counters()["bytes"]

    def _counters(self) -> dict[str, dict[str, int]]:
        with urllib.request.urlopen(self.endpoint_url + CONTROL_PATH) as reply:
            return json.loads(reply.read())

    def set_latency(self, latency_ms: float) -> None:
        url = f"{self.endpoint_url}{CONTROL_PATH}?latency_ms={latency_ms}"
        urllib.request.urlopen(urllib.request.Request(url, method="PUT")).read()

    def reset_counts(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.endpoint_url + CONTROL_PATH, method="DELETE")).read()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start(latency_ms: float = 0.0) -> LocalS3:
    """Start the server on a free loopback port; returns once it answers."""
    env = os.environ | {"AWS_EC2_METADATA_DISABLED": "true"}
    process = subprocess.Popen(
        [sys.executable, "-m", "alpha_replay_assets.sample.local_s3", "--port", "0", "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    line = process.stdout.readline().strip()
    if not line.isdigit():
        process.kill()
        raise RuntimeError(f"local S3 server did not start (said {line!r})")
    server = LocalS3(f"http://127.0.0.1:{int(line)}", process)
    deadline = time.monotonic() + 30
    while True:
        try:
            server.request_counts()
            return server
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise
            time.sleep(0.05)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    serve(args.port, args.latency_ms)
