"""What the fault proxy can inject and into which requests: the fault kinds, the canned responses
that stand in for an upstream's, and the rules that match requests (`fault_proxy` serves them)."""

import json
import re
from dataclasses import dataclass

FAULT_KINDS = ("http_500", "http_503_slowdown", "http_429", "http_529", "reset", "truncate", "hang",
               "non_json_200", "wrong_shape_200")


def _anthropic_error(kind: str) -> bytes:
    return json.dumps({"type": "error", "error": {"type": kind, "message": "injected by fault_proxy"}}).encode()


def _s3_error(code: str, message: str) -> bytes:
    return (f"<?xml version='1.0' encoding='UTF-8'?>\n"
            f"<Error><Code>{code}</Code><Message>{message}</Message></Error>").encode()


# kind -> (status, content type, body) for the faults that are a canned response instead of the upstream's
CANNED = {
    "http_500": (500, "application/xml",
                 _s3_error("InternalError", "We encountered an internal error. Please try again.")),
    "http_503_slowdown": (503, "application/xml", _s3_error("SlowDown", "Please reduce your request rate.")),
    "http_429": (429, "application/json", _anthropic_error("rate_limit_error")),
    "http_529": (529, "application/json", _anthropic_error("overloaded_error")),
    "non_json_200": (200, "application/json", b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n"
                     b"<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"),
    "wrong_shape_200": (200, "application/json", b'{"unexpected": true}'),
}


@dataclass(frozen=True)
class FaultRule:
    """Inject `kind` into a matching request with probability `rate`, at most `max_count` times.

    `method` matches exactly (None = any); `path` is a regex searched in the path and query.
    """

    kind: str
    rate: float
    method: str | None = None
    path: str | None = None
    max_count: int | None = None

    def __post_init__(self):
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(FAULT_KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"rate must be in [0, 1], got {self.rate}")

    def matches(self, method: str, target: str) -> bool:
        return request_matches(self.method, self.path, method, target)


def request_matches(want_method: str | None, path: str | None, method: str, target: str) -> bool:
    return ((want_method is None or want_method.upper() == method)
            and (path is None or re.search(path, target) is not None))


def parse_fault(text: str) -> FaultRule:
    """`KIND=RATE` (the command line's `--fault`); a bare `KIND` is always injected."""
    kind, _, rate = text.partition("=")
    return FaultRule(kind, float(rate or 1.0))
