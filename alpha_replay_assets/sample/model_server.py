"""A loopback server that speaks enough of the Anthropic Messages API, and of an OpenAI-compatible
router's chat completions (OpenRouter's `/api/v1/chat/completions`, also at `/v1/...`), for the
real `anthropic` and `openai` SDKs.

It plays the *cheap target model* for the synthetic corpus: replies, in each producer's raw
response schema, are derived from the prompt by the corpus's hidden rules with their own noise,
so concordance is high but below 1, whichever endpoint is asked. Faults can be scripted (429,
500, 529, slow, malformed, schema-breaking; impossible usage numbers and costs, a reply naming
another model than the one asked for) on both, every call is counted per endpoint
(`messages`, `chat_completions`), and the Message Batches endpoints are served too. Used by the
tests and, when no API key is set, by the quick start (which says so). Never logs request headers
(they carry the API key).

Like the API it keeps a **prompt cache**: a system prefix marked `cache_control` that reaches the
model's minimum is written on first use (`usage.cache_creation_input_tokens`) and read by later
requests within the TTL, 5 minutes from last use (`cache_read_input_tokens`); `input_tokens` is
then the uncached remainder. And it can enforce a scripted **rate limit** the way the API does:
token buckets (requests and/or input tokens, cache reads not counted) refilled continuously,
`anthropic-ratelimit-*` headers on every response and a 429 with `retry-after` when spent; on the
router endpoint the router's own spelling (`x-ratelimit-limit|remaining|reset` for requests, reset
in epoch ms as OpenRouter sends it; `x-ratelimit-*-tokens` for tokens, reset a duration). A chat
completion reports `usage` with prompt/completion tokens and the `cost` OpenRouter bills.
"""

import argparse
import json
import math
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from alpha_replay_assets.sample.model_state import CHAT_PATHS, ERROR_KINDS, FAULTS, ModelServerState, chat_as_messages


def _anthropic_error(kind: str, message: str) -> dict:
    return {"type": "error", "error": {"type": kind, "message": message}}


def _openai_error(kind: str, message: str) -> dict:
    return {"error": {"type": kind, "message": message}}


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
                if "retry_after_s" in body:
                    state.retry_after_s = body["retry_after_s"]
            if "rate_limit" in body:
                state.set_rate_limit(**(body["rate_limit"] or {}))
            return self._send(200, {"ok": True})
        if not self._authorised():
            return None
        body = self._body()
        path = self.path.rstrip("/")
        if path == "/v1/messages/batches":
            return self._create_batch(body)
        if path == "/v1/messages":
            return self._serve("messages", body, lambda fault: state.message(body, fault), _anthropic_error)
        if path in CHAT_PATHS:
            return self._serve("chat_completions", chat_as_messages(body), lambda fault: state.completion(body, fault),
                               _openai_error)
        return self._send(404, _anthropic_error("not_found_error", self.path))

    def _serve(self, endpoint: str, view: dict, answer, error) -> None:
        """One replay on `endpoint` (its request seen as a Messages request, `view`): a scripted
        fault, a 429 from the scripted rate limit, or `answer(fault)`; `error` shapes error bodies."""
        state = self.state
        fault = state.next_fault()
        with state.lock:
            state.counts[endpoint] += 1
            state.counts["fault_" + fault if fault else "ok"] += 1
        if fault in ERROR_KINDS:
            wait = ({"retry-after-ms": "20"} if state.retry_after_s is None
                    else {"retry-after": str(state.retry_after_s)})
            return self._send(int(fault), error(ERROR_KINDS[fault], "injected"), headers=wait)
        limit_headers, wait = state.admit(view, router=endpoint == "chat_completions")
        if wait:  # the API's retry-after is whole seconds
            return self._send(429, error("rate_limit_error", "scripted rate limit reached"),
                              headers=limit_headers | {"retry-after": str(math.ceil(wait))})
        delay = state.latency_ms / 1000 + (3.0 if fault == "slow" else 0.0)
        if delay:
            time.sleep(delay)
        return self._send(200, answer(fault), headers=limit_headers)

    def _create_batch(self, body: dict) -> None:
        state = self.state
        batch_id = f"msgbatch_{next(state.ids):08d}"
        results = [{"custom_id": r["custom_id"], "result": {"type": "succeeded", "message": state.message(r["params"])}}
                   for r in body["requests"]]
        batch = {"id": batch_id, "results": results, "polls": 0, "created_at": "2026-11-28T00:00:00Z"}
        with state.lock:
            state.batches[batch_id] = batch
            state.counts["batch_create"] += 1
            state.counts["batch_requests"] += len(results)
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

    @property
    def router_url(self) -> str:
        """The OpenAI-compatible base URL, OpenRouter's layout (the SDK appends `/chat/completions`)."""
        return f"{self.base_url}/api/v1"

    def inject(self, *faults: str) -> None:
        with self.state.lock:
            self.state.faults.extend(faults)

    def counts(self) -> Counter:
        with self.state.lock:
            return Counter(self.state.counts)

    def rate_limit(self, requests: float | None = None, input_tokens: float | None = None,
                   period_s: float = 60.0) -> None:
        self.state.set_rate_limit(requests, input_tokens, period_s)

    def admitted(self) -> list[float]:
        """Monotonic times at which requests under the rate limit were let through."""
        with self.state.lock:
            return list(self.state.admitted)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    server = ModelServer(latency_ms=args.latency_ms, port=args.port)
    print(f"loopback Messages API on {server.base_url}, router chat completions on {server.base_url}/api/v1",
          flush=True)
    server.thread.join()
