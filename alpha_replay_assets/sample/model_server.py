"""A loopback server that speaks enough of the Anthropic Messages API for the real SDK.

It plays the *cheap target model* for the synthetic corpus: replies are derived from the prompt
by the corpus's hidden rules with their own noise, so concordance is high but below 1. Faults
can be scripted (429, 500, 529, slow, malformed, schema-breaking), every call is counted, and
the Message Batches endpoints are served too. Used by the tests and, when no API key is set,
by the quick start (which says so). Never logs request headers (they carry the API key).
"""

import argparse
import hashlib
import itertools
import json
import random
import threading
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from alpha_replay_assets.sample import rules

FAULTS = ("429", "500", "529", "malformed", "schema", "slow")


class ModelServerState:
    def __init__(self, noise: float, latency_ms: float):
        self.noise, self.latency_ms = noise, latency_ms
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.faults: deque[str] = deque()
        self.seen: Counter[str] = Counter()
        self.batches: dict[str, dict] = {}
        self.ids = itertools.count(1)

    def next_fault(self) -> str | None:
        with self.lock:
            return self.faults.popleft() if self.faults else None

    def reply_text(self, model: str, system: str, user: str) -> str:
        """The rule's decision for the prompt; repeats of one request draw fresh noise."""
        request = hashlib.sha256(json.dumps([model, system, user]).encode()).hexdigest()
        with self.lock:
            repeat = self.seen[request]
            self.seen[request] += 1
        parsed = rules.parse_prompt(system, user)
        if parsed is None or parsed[0] not in rules.RULES:
            return "{}"
        family, snapshot = parsed
        rng = random.Random(f"{request}:{repeat}")
        return json.dumps(rules.RULES[family].decide(snapshot, rng, self.noise_for(model)))

    def noise_for(self, model: str) -> float:
        """Cheaper models decide less consistently: haiku-class replies carry twice the noise."""
        return self.noise * (2 if "haiku" in model else 1)

    def message(self, body: dict, fault: str | None = None) -> dict:
        system = body.get("system") or ""
        if isinstance(system, list):
            system = "".join(block.get("text", "") for block in system)
        content = body["messages"][0]["content"]
        user = content if isinstance(content, str) else "".join(b.get("text", "") for b in content)
        text = self.reply_text(body["model"], system, user)
        if fault == "malformed":
            text = text[: len(text) // 2]
        elif fault == "schema":
            text = json.dumps({"answer": "I would rather not say"})
        return {
            "id": f"msg_{next(self.ids):08d}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": f"Here is my decision:\n```json\n{text}\n```"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": max(1, len(system + user) // 4), "output_tokens": max(1, len(text) // 4),
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
        }


class Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # two writes per response + delayed ACK cost 40 ms otherwise
    protocol_version = "HTTP/1.1"
    state: ModelServerState  # set on the subclass made per server

    def log_message(self, format, *args):  # noqa: A002 - silence the default access log
        pass

    def _send(self, status: int, payload, headers: dict | None = None, raw: bytes | None = None) -> None:
        body = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")

    def _authorised(self) -> bool:
        if self.headers.get("x-api-key") or (self.headers.get("Authorization") or "").startswith("Bearer "):
            return True
        self._send(401, {"type": "error", "error": {"type": "authentication_error", "message": "no API key"}})
        return False

    def do_GET(self):  # noqa: N802
        state = self.state
        if self.path == "/_control":
            with state.lock:
                return self._send(200, {"counts": dict(state.counts), "pending_faults": list(state.faults)})
        if not self._authorised():
            return None
        parts = self.path.strip("/").split("/")  # v1 messages batches {id} [results]
        if parts[:3] == ["v1", "messages", "batches"] and len(parts) >= 4 and parts[3] in state.batches:
            batch = state.batches[parts[3]]
            with state.lock:
                state.counts["batch_" + ("results" if len(parts) == 5 else "retrieve")] += 1
                batch["polls"] += 1
            if len(parts) == 5:
                lines = "\n".join(json.dumps(r) for r in batch["results"]).encode()
                return self._send(200, None, raw=lines)
            return self._send(200, self._batch_object(batch))
        return self._send(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})

    def _batch_object(self, batch: dict) -> dict:
        ended = batch["polls"] >= 2  # in_progress on the first retrieve, so clients really poll
        host, port = self.server.server_address[:2]
        n = len(batch["results"])
        return {
            "id": batch["id"], "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {"processing": 0 if ended else n, "succeeded": n if ended else 0,
                               "errored": 0, "canceled": 0, "expired": 0},
            "created_at": batch["created_at"], "expires_at": batch["created_at"],
            "ended_at": batch["created_at"] if ended else None, "archived_at": None, "cancel_initiated_at": None,
            "results_url": f"http://{host}:{port}/v1/messages/batches/{batch['id']}/results" if ended else None,
        }

    def do_POST(self):  # noqa: N802
        state = self.state
        if self.path == "/_control":
            body = self._body()
            with state.lock:
                if body.get("reset_counts"):
                    state.counts.clear()
                state.faults.extend(f for f in body.get("faults", []) if f in FAULTS)
                if "latency_ms" in body:
                    state.latency_ms = float(body["latency_ms"])
            return self._send(200, {"ok": True})
        if not self._authorised():
            return None
        body = self._body()
        if self.path.rstrip("/") == "/v1/messages/batches":
            return self._create_batch(body)
        if self.path.rstrip("/") != "/v1/messages":
            return self._send(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})
        fault = state.next_fault()
        with state.lock:
            state.counts["messages"] += 1
            state.counts["fault_" + fault if fault else "ok"] += 1
        if fault in ("429", "500", "529"):
            kind = {"429": "rate_limit_error", "500": "api_error", "529": "overloaded_error"}[fault]
            return self._send(int(fault), {"type": "error", "error": {"type": kind, "message": "injected"}},
                              headers={"retry-after-ms": "20"})
        delay = state.latency_ms / 1000 + (3.0 if fault == "slow" else 0.0)
        if delay:
            time.sleep(delay)
        return self._send(200, state.message(body, fault))

    def _create_batch(self, body: dict) -> None:
        state = self.state
        batch_id = f"msgbatch_{next(state.ids):08d}"
        results = [{"custom_id": r["custom_id"], "result": {"type": "succeeded", "message": state.message(r["params"])}}
                   for r in body["requests"]]
        batch = {"id": batch_id, "results": results, "polls": 0, "created_at": "2026-11-28T00:00:00Z"}
        with state.lock:
            state.batches[batch_id] = batch
            state.counts["batch_create"] += 1
        return self._send(200, self._batch_object(batch))


class ModelServer:
    """A running server on 127.0.0.1 (a free port) in a daemon thread."""

    def __init__(self, noise: float = 0.05, latency_ms: float = 0.0, port: int = 0):
        self.state = ModelServerState(noise, latency_ms)
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def inject(self, *faults: str) -> None:
        with self.state.lock:
            self.state.faults.extend(faults)

    def counts(self) -> Counter:
        with self.state.lock:
            return Counter(self.state.counts)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    server = ModelServer(latency_ms=args.latency_ms, port=args.port)
    print(f"loopback Messages API on {server.base_url}", flush=True)
    server.thread.join()
