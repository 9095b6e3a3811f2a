"""The fault proxy between real clients and real servers: what each fault turns into.

Observed with botocore 1.43 / urllib3 2 against moto and anthropic 2.14 against the loopback
Messages API, and asserted here so a library upgrade that changes any of it fails loudly:

- boto3: 500 and 503 SlowDown are retried; without retries they raise `ClientError` (codes
  `InternalError`, `SlowDown`). A reset raises `ConnectionClosedError` (retried when allowed), a
  hang `ReadTimeoutError` (retried when allowed). A truncated GET body makes `Body.read()` raise
  `ResponseStreamingError` (urllib3 enforces Content-Length, so botocore's own `IncompleteReadError`
  is never reached) and is not retried: the body is read after the call has returned. A 200 that
  is not an S3 response passes **silently**: a GET returns its bytes as the object, a PUT reports
  success though nothing was stored, and an HTML page as a listing is an empty listing. Only a
  listing that does not parse as XML is treated as a 500 (and retried).
- anthropic: 429, 529 and 500 raise `RateLimitError`, `OverloadedError`, `InternalServerError`
  (retried). A reset or a truncated body raises `APIConnectionError`, a hang `APITimeoutError`
  (both retried). A non-JSON 200 raises `json.JSONDecodeError`, which is not an
  `anthropic.APIError` and is not retried; a JSON 200 of the wrong shape raises nothing and
  returns a `Message` whose every field (`content`, `usage`, `id`) is None.
"""

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import anthropic
import boto3
import botocore.exceptions
import pytest
from botocore.config import Config as BotoConfig

from alpha_replay_assets.sample.fault_proxy import FaultProxy
from alpha_replay_assets.sample.fault_rules import FaultRule

REPO = Path(__file__).resolve().parents[1]
MODEL = "claude-haiku-4-5"


@pytest.fixture
def s3_proxy(s3_server):
    with FaultProxy(s3_server.endpoint_url, hang_s=5) as proxy:
        yield proxy


@pytest.fixture
def model_proxy(model_server):
    with FaultProxy(model_server.base_url, hang_s=5) as proxy:
        yield proxy


def s3_via(proxy, attempts=3, read_timeout=5.0):
    """boto3 through the proxy; `attempts` counts the first try (1 = no retries)."""
    return boto3.client("s3", endpoint_url=proxy.url, region_name="us-east-1",
                        config=BotoConfig(retries={"total_max_attempts": attempts, "mode": "standard"},
                                          connect_timeout=2, read_timeout=read_timeout))


def sdk_via(proxy, retries, timeout=5.0):
    return anthropic.Anthropic(base_url=proxy.url, api_key="test", max_retries=retries, timeout=timeout)


def ask(client):
    return client.messages.create(model=MODEL, max_tokens=16, messages=[{"role": "user", "content": "hi"}])


def put_object(s3_client, bucket, size=10_000):
    key, body = f"obj/{uuid.uuid4().hex}", os.urandom(size)
    s3_client.put_object(Bucket=bucket, Key=key, Body=body)
    return key, body


def statuses(proxy, n, target="/_control", method="GET"):
    """Statuses of `n` plain requests over one keep-alive connection."""
    connection = http.client.HTTPConnection(proxy.url.removeprefix("http://"), timeout=5)
    try:
        result = []
        for _ in range(n):
            connection.request(method, target, body=b"{}" if method == "POST" else None)
            response = connection.getresponse()
            response.read()
            result.append(response.status)
        return result
    finally:
        connection.close()


# -- S3: boto3 against moto -----------------------------------------------------------------


def test_pass_through_is_byte_identical_over_one_kept_alive_connection(s3_proxy, s3_client, bucket):
    client = s3_via(s3_proxy)
    bodies = {"empty": b"", "small": b'{"a": 1}', "binary": os.urandom(300_000)}
    for key, body in bodies.items():
        client.put_object(Bucket=bucket, Key=key, Body=body)
    for key, body in bodies.items():
        assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == body
        assert s3_client.get_object(Bucket=bucket, Key=key)["Body"].read() == body
        assert client.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(body)
    listed = client.list_objects_v2(Bucket=bucket)["Contents"]
    assert {o["Key"]: o["Size"] for o in listed} == {key: len(body) for key, body in bodies.items()}
    counts = s3_proxy.counts()
    assert counts["requests"] == counts["forwarded"] == 3 + 3 * 2 + 1 and "faults" not in counts
    assert counts["connections"] == 1  # boto3 reused its connection for every request


@pytest.mark.parametrize("kind, code", [("http_503_slowdown", "SlowDown"), ("http_500", "InternalError")])
def test_s3_server_errors_are_retried(s3_proxy, s3_client, bucket, kind, code):
    key, body = put_object(s3_client, bucket)
    s3_proxy.set_rules([FaultRule(kind, 1.0, method="GET", max_count=1)])
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        s3_via(s3_proxy, attempts=1).get_object(Bucket=bucket, Key=key)
    assert raised.value.response["Error"]["Code"] == code

    s3_proxy.set_rules([FaultRule(kind, 1.0, method="GET", max_count=1)])
    reply = s3_via(s3_proxy).get_object(Bucket=bucket, Key=key)
    assert reply["Body"].read() == body and reply["ResponseMetadata"]["RetryAttempts"] == 1
    counts = s3_proxy.counts()
    assert counts[f"fault:{kind}:GET"] == 2 and counts["forwarded:GET"] == 1


def test_s3_reset_is_a_connection_error_or_retried(s3_proxy, s3_client, bucket):
    key, body = put_object(s3_client, bucket)
    s3_proxy.set_rules([FaultRule("reset", 1.0, max_count=1)])
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        s3_via(s3_proxy, attempts=1).get_object(Bucket=bucket, Key=key)

    s3_proxy.set_rules([FaultRule("reset", 1.0, max_count=1)])
    reply = s3_via(s3_proxy).get_object(Bucket=bucket, Key=key)
    assert reply["Body"].read() == body and reply["ResponseMetadata"]["RetryAttempts"] == 1


def test_s3_truncated_body_raises_on_read_and_is_not_retried(s3_proxy, s3_client, bucket):
    key, _ = put_object(s3_client, bucket)
    s3_proxy.set_rules([FaultRule("truncate", 1.0, method="GET", max_count=1)])
    reply = s3_via(s3_proxy).get_object(Bucket=bucket, Key=key)  # headers arrive whole: the call succeeds
    assert reply["ContentLength"] == 10_000
    with pytest.raises(botocore.exceptions.ResponseStreamingError, match="IncompleteRead"):
        reply["Body"].read()
    counts = s3_proxy.counts()
    assert counts["requests"] == counts["forwarded"] == counts["fault:truncate"] == 1


def test_s3_hang_is_a_read_timeout_or_retried(s3_proxy, s3_client, bucket):
    key, body = put_object(s3_client, bucket)
    s3_proxy.set_rules([FaultRule("hang", 1.0, max_count=1)])
    started = time.monotonic()
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        s3_via(s3_proxy, attempts=1, read_timeout=0.5).get_object(Bucket=bucket, Key=key)
    assert time.monotonic() - started < s3_proxy.hang_s  # the client gave up, not the proxy

    s3_proxy.set_rules([FaultRule("hang", 1.0, max_count=1)])
    reply = s3_via(s3_proxy, read_timeout=0.5).get_object(Bucket=bucket, Key=key)
    assert reply["Body"].read() == body and reply["ResponseMetadata"]["RetryAttempts"] == 1


@pytest.mark.parametrize("kind", ["non_json_200", "wrong_shape_200"])
def test_s3_get_takes_a_fake_200_body_for_the_object(s3_proxy, s3_client, bucket, kind):
    key, body = put_object(s3_client, bucket)
    s3_proxy.set_rules([FaultRule(kind, 1.0, max_count=1)])
    got = s3_via(s3_proxy).get_object(Bucket=bucket, Key=key)["Body"].read()
    assert got != body and got.startswith((b"<html>", b'{"unexpected"'))  # silently: callers must validate


def test_s3_put_acknowledged_by_a_fake_200_is_lost(s3_proxy, s3_client, bucket):
    s3_proxy.set_rules([FaultRule("non_json_200", 1.0, method="PUT", max_count=1)])
    reply = s3_via(s3_proxy).put_object(Bucket=bucket, Key="lost", Body=b"data")
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 200 and "ETag" not in reply
    with pytest.raises(botocore.exceptions.ClientError, match="404"):
        s3_client.head_object(Bucket=bucket, Key="lost")


def test_s3_listing_answered_by_a_fake_200(s3_proxy, s3_client, bucket):
    put_object(s3_client, bucket)
    s3_proxy.set_rules([FaultRule("non_json_200", 1.0, max_count=1)])
    assert "Contents" not in s3_via(s3_proxy).list_objects_v2(Bucket=bucket)  # HTML parses as XML: empty

    s3_proxy.set_rules([FaultRule("wrong_shape_200", 1.0, max_count=1)])
    with pytest.raises(botocore.exceptions.ClientError, match=r"\(500\)"):
        s3_via(s3_proxy, attempts=1).list_objects_v2(Bucket=bucket)
    s3_proxy.set_rules([FaultRule("wrong_shape_200", 1.0, max_count=1)])
    assert len(s3_via(s3_proxy).list_objects_v2(Bucket=bucket)["Contents"]) == 1  # not XML: retried


def test_hold_parks_one_put_until_release(s3_proxy, s3_client, bucket):
    s3_proxy.hold("PUT", r"/run-a\b", timeout_s=30)
    assert not s3_proxy.wait_until_held(0.05)
    client = s3_via(s3_proxy, read_timeout=30)
    run_a = threading.Thread(target=client.put_object, kwargs=dict(Bucket=bucket, Key="run-a", Body=b"A"))
    run_a.start()
    assert s3_proxy.wait_until_held(10)
    client.put_object(Bucket=bucket, Key="run-b", Body=b"B")  # run B completes while A waits
    with pytest.raises(botocore.exceptions.ClientError, match="404"):
        s3_client.head_object(Bucket=bucket, Key="run-a")
    s3_proxy.release()
    run_a.join(10)
    assert not run_a.is_alive()
    assert s3_client.get_object(Bucket=bucket, Key="run-a")["Body"].read() == b"A"
    assert s3_proxy.counts()["held:PUT"] == 1


def test_hold_forwards_after_its_timeout(s3_proxy, s3_client, bucket):
    s3_proxy.hold("PUT", "late", timeout_s=0.2)
    started = time.monotonic()
    s3_via(s3_proxy).put_object(Bucket=bucket, Key="late", Body=b"x")
    assert time.monotonic() - started >= 0.2
    assert s3_client.get_object(Bucket=bucket, Key="late")["Body"].read() == b"x"


# -- Anthropic: the SDK against the loopback Messages API -----------------------------------


@pytest.mark.parametrize("kind, error", [("http_429", anthropic.RateLimitError),
                                         ("http_529", anthropic.OverloadedError),
                                         ("http_500", anthropic.InternalServerError)])
def test_sdk_retries_status_errors(model_proxy, model_server, kind, error):
    model_proxy.set_rules([FaultRule(kind, 1.0, max_count=1)])
    with sdk_via(model_proxy, retries=0) as client, pytest.raises(error) as raised:
        ask(client)
    if kind != "http_500":
        assert raised.value.response.headers["retry-after-ms"] == str(model_proxy.retry_after_ms)

    model_proxy.set_rules([FaultRule(kind, 1.0, max_count=1)])
    with sdk_via(model_proxy, retries=2) as client:
        assert ask(client).content[0].text
    assert model_proxy.counts()[f"fault:{kind}:POST"] == 2
    assert model_server.counts()["messages"] == 1  # faults never reach the upstream


@pytest.mark.parametrize("kind", ["reset", "truncate"])
def test_sdk_connection_faults_are_retried(model_proxy, model_server, kind):
    model_proxy.set_rules([FaultRule(kind, 1.0, max_count=1)])
    with sdk_via(model_proxy, retries=0) as client, pytest.raises(anthropic.APIConnectionError) as raised:
        ask(client)
    assert not isinstance(raised.value, anthropic.APITimeoutError)

    model_proxy.set_rules([FaultRule(kind, 1.0, max_count=1)])
    with sdk_via(model_proxy, retries=2) as client:
        assert ask(client).content[0].text


def test_sdk_hang_times_out(model_proxy):
    model_proxy.set_rules([FaultRule("hang", 1.0, max_count=1)])
    started = time.monotonic()
    with sdk_via(model_proxy, retries=0, timeout=0.5) as client, pytest.raises(anthropic.APITimeoutError):
        ask(client)
    assert time.monotonic() - started < model_proxy.hang_s

    model_proxy.set_rules([FaultRule("hang", 1.0, max_count=1)])
    with sdk_via(model_proxy, retries=2, timeout=0.5) as client:
        assert ask(client).content[0].text


def test_sdk_non_json_200_raises_a_json_error_not_an_api_error(model_proxy, model_server):
    model_proxy.set_rules([FaultRule("non_json_200", 1.0)])
    with sdk_via(model_proxy, retries=2) as client, pytest.raises(json.JSONDecodeError) as raised:
        ask(client)
    assert not isinstance(raised.value, anthropic.APIError)  # `except anthropic.APIError` does not catch it
    assert model_proxy.counts()["requests"] == 1  # a 200 is never retried
    assert model_server.counts()["messages"] == 0


def test_sdk_wrong_shape_200_returns_an_empty_message(model_proxy):
    model_proxy.set_rules([FaultRule("wrong_shape_200", 1.0)])
    with sdk_via(model_proxy, retries=2) as client:
        message = ask(client)  # no exception: the SDK does not validate responses by default
    assert isinstance(message, anthropic.types.Message)
    assert message.content is None and message.usage is None and message.id is None
    assert model_proxy.counts()["requests"] == 1


# -- rules, rates and bounds ----------------------------------------------------------------


def test_rate_is_reproducible_for_a_seed(model_server):
    def run(seed):
        with FaultProxy(model_server.base_url, [FaultRule("http_500", 0.5)], seed=seed, max_faults=1000) as proxy:
            observed = statuses(proxy, 40)
            assert proxy.counts()["faults"] == observed.count(500)
            return observed

    first = run(7)
    assert run(7) == first and 10 <= first.count(500) <= 30 and set(first) == {200, 500}
    assert run(8) != first


def test_max_faults_and_max_seconds_end_injection(model_server):
    with FaultProxy(model_server.base_url, [FaultRule("http_500", 1.0)], max_faults=3) as proxy:
        assert statuses(proxy, 6) == [500] * 3 + [200] * 3
    with FaultProxy(model_server.base_url, [FaultRule("http_500", 1.0)], max_seconds=0) as proxy:
        assert statuses(proxy, 2) == [200, 200]
    with FaultProxy(model_server.base_url, [FaultRule("http_500", 1.0)], max_seconds=1.0) as proxy:
        assert statuses(proxy, 1) == [500]
        time.sleep(1.1)
        assert statuses(proxy, 2) == [200, 200]


def test_rules_match_in_order_by_method_and_path_and_can_be_replaced(model_proxy):
    model_proxy.set_rules([
        FaultRule("http_429", 1.0, method="POST", max_count=1),
        FaultRule("http_500", 1.0, path=r"\?x=1$"),
        FaultRule("http_529", 1.0, path="x=", max_count=2),
    ])
    assert statuses(model_proxy, 2, method="POST") == [429, 200]
    assert statuses(model_proxy, 1) == [200]
    assert statuses(model_proxy, 2, "/_control?x=1") == [500, 500]
    assert statuses(model_proxy, 3, "/_control?x=2") == [529, 529, 401]  # then forwarded: upstream wants a key
    counts = model_proxy.counts()
    assert (counts["rule:0"], counts["rule:1"], counts["rule:2"]) == (1, 2, 2)
    assert counts["requests"] == 8 and counts["forwarded"] == 3 and counts["faults:GET"] == 4

    model_proxy.set_rules([])
    model_proxy.reset_counts()
    assert statuses(model_proxy, 1, "/_control?x=1") == [401]  # forwarded now
    assert model_proxy.counts() == {"connections": 1, "requests": 1, "requests:GET": 1, "forwarded": 1,
                                    "forwarded:GET": 1}
    with pytest.raises(ValueError):
        FaultRule("http_418", 1.0)
    with pytest.raises(ValueError):
        FaultRule("reset", 1.5)


def test_stop_is_prompt_with_a_hang_in_flight(model_server):
    proxy = FaultProxy(model_server.base_url, [FaultRule("hang", 1.0)], hang_s=60)
    outcome = []

    def call():
        try:
            outcome.append(statuses(proxy, 1))
        except (OSError, http.client.HTTPException) as exc:
            outcome.append(exc)

    hung = threading.Thread(target=call)
    hung.start()
    deadline = time.monotonic() + 10
    while proxy.counts().get("faults", 0) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    proxy.stop()
    hung.join(5)
    assert time.monotonic() - started < 3 and not hung.is_alive()
    assert isinstance(outcome[0], (OSError, http.client.HTTPException))  # closed without a response


def test_standalone_cli_injects_then_stops_and_never_prints_secrets(model_server):
    command = [sys.executable, "-m", "alpha_replay_assets.sample.fault_proxy", "--upstream", model_server.base_url,
               "--fault", "http_529=1", "--seed", "1", "--max-faults", "1", "--max-seconds", "60"]
    process = subprocess.Popen(command, cwd=REPO, env=os.environ | {"PYTHONPATH": str(REPO)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=5)
        for expected in (529, 200):
            connection.request("GET", "/_control", headers={"Authorization": "Bearer sk-secret-123"})
            response = connection.getresponse()
            response.read()
            assert response.status == expected
        connection.close()
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert json.loads(out)["fault:http_529:GET"] == 1
    assert "sk-secret-123" not in out + err
