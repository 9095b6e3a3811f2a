"""S3 access for alpha-replay: the read-only capture corpus and the analytics outputs we own."""


import io
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import boto3
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from dagster_aws.s3 import S3Resource
from pydantic import Field, PrivateAttr

from resources import parquet_ranges, s3_timestamps
from resources.bounded import ordered_map
from resources.fieldwise import FieldwiseResource
from resources.run_mode import DryRunGuard

# A body cut short or a connection reset *while reading* happens after botocore's own retries
# (they cover the request, not the stream), so the store re-reads the object itself.
BODY_READ_ERRORS = (IncompleteReadError, ResponseStreamingError, ReadTimeoutError, ConnectionClosedError)


# S3 answers that no retry will change: the step fails at once instead of retrying for minutes.
PERMANENT_ERRORS = ("NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                    "AllAccessDisabled", "InvalidBucketName")


def is_permanent(exc: Exception) -> bool:
    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in PERMANENT_ERRORS


class WriteConflict(RuntimeError):
    """A conditional PUT lost: the object changed since the version the writer read."""


class ObjectChanged(RuntimeError):
    """A read pinned to one version of an object found another one."""


@contextmanager
def naming(what: str):
    """An S3 error raised inside names `what` (the operation and object, or the day) in its message:
    botocore names neither. The error keeps its type and code (`is_permanent`, not-found checks)."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        exc.args = (f"{what}: {exc}", *exc.args[1:])
        raise


def _not_found(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404")


class ArtifactStore(FieldwiseResource, DryRunGuard):
    """Lists and fetches decision artifacts; reads and writes alpha-replay's own objects.

    Connection settings (endpoint, region, credentials via EnvVar) live on the nested
    `S3Resource`; this resource adds the layout and the concurrency. Every write is a single
    PUT of a complete object, so readers see the old object or the new one, never a mix.
    """

    s3: S3Resource
    bucket: str = Field(description="Bucket holding the capture corpus and the analytics outputs.")
    capture_prefix: str = Field(default="decision_artifacts", description="Root of the day folders.")
    analytics_prefix: str = Field(
        default="decision_artifacts/_alpha_replay",
        description="Where alpha-replay writes; a `_` meta-prefix, outside every day folder.",
    )
    max_workers: int = Field(default=16, ge=1, le=256, description="Concurrent GETs per step.")
    max_object_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="Artifacts larger than this are not downloaded."
    )
    read_attempts: int = Field(default=4, ge=1, le=10, description="Reads of one object before a "
                               "truncated or reset body fails the step.")
    read_timeout_s: float = Field(default=60.0, gt=0, description="Seconds without a byte before a request "
                                  "is abandoned (and retried).")

    _client: Any = PrivateAttr(default=None)
    _pool: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _read_retries: int = PrivateAttr(default=0)

    @property
    def client(self):
        """One boto3 client per resource instance, its connection pool sized for the workers."""
        self.refuse_in_dry_run("build an S3 client")
        if self._client is None:
            s3 = self.s3
            # timestamps read without dateutil (resources.s3_timestamps: the same datetimes, ~8% of a GET's CPU)
            session = boto3.session.Session(botocore_session=s3_timestamps.botocore_session(),
                                            profile_name=s3.profile_name)
            self._client = session.client(
                "s3",
                region_name=s3.region_name,
                endpoint_url=s3.endpoint_url,
                use_ssl=s3.use_ssl,
                verify=s3.verify,
                aws_access_key_id=s3.aws_access_key_id,
                aws_secret_access_key=s3.aws_secret_access_key,
                aws_session_token=s3.aws_session_token,
                config=BotoConfig(
                    retries={"max_attempts": s3.max_attempts, "mode": "standard"},
                    read_timeout=self.read_timeout_s,
                    # replay workers share this client with the fetch pool
                    max_pool_connections=max(32, 2 * self.max_workers),
                ),
            )
        return self._client

    # -- the capture corpus (read-only) -------------------------------------------------------

    def list_prefix(self, prefix: str) -> Iterator[dict]:
        """Every object under `prefix`, page by page (S3 returns at most 1,000 per page)."""
        paginator = self.client.get_paginator("list_objects_v2")
        with naming(f"S3 listing of {self.uri(prefix)}"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                yield from page.get("Contents", [])

    def list_level(self, prefix: str) -> tuple[list[str], list[str]]:
        """One level under `prefix` (S3's `/` delimiter): (sub-folder prefixes, object keys)."""
        paginator, folders, keys = self.client.get_paginator("list_objects_v2"), [], []
        with naming(f"S3 listing of {self.uri(prefix)}"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
                folders += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
                keys += [o["Key"] for o in page.get("Contents", [])]
        return folders, keys

    def fetch_many(self, keys: Iterable[str], then: Callable[[str, bytes], Any] = lambda key, body: body
                   ) -> Iterator[tuple[str, Any]]:
        """(key, then(key, body)) for every key in order, fetched by a bounded thread pool; S3
        errors propagate. `then` runs in the fetching thread: parsing there overlaps the other
        fetches instead of queueing behind one consumer. At most 2 x max_workers results are
        held ahead of the consumer, so a day of production-sized artifacts (hundreds of MB) is
        never in memory at once."""
        yield from ordered_map(lambda key: (key, then(key, self.get_bytes(key))), keys, self._fetch_pool(),
                               2 * self.max_workers)

    def _fetch_pool(self) -> ThreadPoolExecutor:
        """One fetch pool per resource instance: `max_workers` concurrent GETs per step however many
        days are indexed at once (not a pool each: three days in flight were 48 threads fighting
        for one interpreter lock)."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="s3-get")
            return self._pool

    def teardown_after_execution(self, context) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def get_bytes(self, key: str) -> bytes:
        """The whole object; a truncated or reset body is read again (bounded, counted)."""
        return self._get(key)[0]

    def get_range(self, key: str, http_range: str, if_match: str | None = None) -> tuple[bytes, int, str]:
        """One byte range of an object (`bytes=-N`: its last N bytes) as (body, object size,
        ETag), re-read like `get_bytes`. With `if_match` (an ETag read before), a changed object
        raises `ObjectChanged` instead of returning bytes of another version."""
        try:
            body, reply = self._get(key, Range=http_range, **({"IfMatch": f'"{if_match}"'} if if_match else {}))
        except ClientError as exc:
            if if_match and exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                raise ObjectChanged(f"{key} changed while it was read") from exc
            raise
        size = int(reply["ContentRange"].rpartition("/")[2]) if reply.get("ContentRange") else len(body)
        return body, size, reply["ETag"].strip('"')

    def _get(self, key: str, **params) -> tuple[bytes, dict]:
        for attempt in range(1, self.read_attempts + 1):
            try:
                with naming(f"S3 GET {self.uri(key)}"):
                    reply = self.client.get_object(Bucket=self.bucket, Key=key, **params)
                    return reply["Body"].read(), reply
            except BODY_READ_ERRORS:
                if attempt == self.read_attempts:
                    raise
                with self._lock:
                    self._read_retries += 1
        raise AssertionError("unreachable")

    @property
    def read_retries(self) -> int:
        """Object reads repeated because a body arrived truncated or the connection reset."""
        return self._read_retries

    # -- analytics outputs (ours) -------------------------------------------------------------

    def analytics_key(self, *parts: str) -> str:
        return "/".join([self.analytics_prefix.rstrip("/"), *parts])

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def put_bytes(self, key: str, body: bytes, content_type: str, *, if_match: str | None = None,
                  if_absent: bool = False, metadata: dict[str, str] | None = None) -> str:
        """One atomic PUT; returns the new ETag. `if_match` (the ETag read before) or `if_absent`
        make it a compare-and-swap: a concurrent writer's version is never overwritten blindly,
        the loser gets `WriteConflict`."""
        self._require_ours(key)
        conditions = {"IfMatch": f'"{if_match}"'} if if_match else {"IfNoneMatch": "*"} if if_absent else {}
        try:
            with naming(f"S3 PUT {self.uri(key)}"):
                reply = self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type,
                                               Metadata=metadata or {}, **conditions)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise WriteConflict(f"{key} changed since it was read") from exc
            raise
        return reply["ETag"].strip('"')

    def head(self, key: str) -> tuple[str, dict[str, str]] | None:
        """(ETag, user metadata) of an object, or None when it does not exist."""
        try:
            with naming(f"S3 HEAD {self.uri(key)}"):
                reply = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        return reply["ETag"].strip('"'), reply.get("Metadata", {})

    def delete(self, keys: list[str]) -> int:
        """Delete our own objects (never the capture corpus), 1,000 per request."""
        for key in keys:
            self._require_ours(key)
        for start in range(0, len(keys), 1000):
            with naming(f"S3 DELETE of {len(keys[start : start + 1000])} objects from {self.uri(keys[start])}"):
                self.client.delete_objects(Bucket=self.bucket, Delete={
                    "Objects": [{"Key": k} for k in keys[start : start + 1000]], "Quiet": True})
        return len(keys)

    def _require_ours(self, key: str) -> None:
        if not key.startswith(self.analytics_prefix) and not _is_contract_output(self.capture_prefix, key):
            raise ValueError(f"refusing to write {key!r} outside the analytics outputs")

    def get_optional(self, key: str) -> bytes | None:
        try:
            return self.get_bytes(key)
        except ClientError as exc:
            if _not_found(exc):
                return None
            raise

    def write_parquet(self, key: str, frame: pd.DataFrame, **conditions) -> int:
        """Write `frame` as one Parquet object (`conditions`: see `put_bytes`); returns its size."""
        return self.write_parquet_groups(key, [frame], **conditions)

    def write_parquet_groups(self, key: str, groups: Iterable[pd.DataFrame], **conditions) -> int:
        """Write frames of one schema as the row groups of one Parquet object, each converted as
        it comes (only the compressed object is held whole); returns its size. No column
        statistics: nothing filters on them, and they would grow the footer that every ranged
        read fetches by a third."""
        buffer, writer = io.BytesIO(), None
        for frame in groups:
            # every group takes the first one's schema (with its pandas metadata: the dtypes on read)
            table = pa.Table.from_pandas(frame, schema=writer.schema if writer else None, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(buffer, table.schema, compression="zstd", write_statistics=False)
            writer.write_table(table)
        writer.close()
        self.put_bytes(key, buffer.getvalue(), "application/vnd.apache.parquet", **conditions)
        return buffer.tell()

    def read_parquet(self, key: str, columns: list[str] | None = None) -> pd.DataFrame | None:
        """A Parquet object as a frame, or None when it does not exist. With `columns`, only the
        footer and those columns' chunks are downloaded (range GETs, see `parquet_ranges`), and
        columns an older object lacks are absent, as from a whole read; a read that finds the
        object replaced midway starts again on the new version."""
        if columns is None:
            body = self.get_optional(key)
            return None if body is None else pd.read_parquet(io.BytesIO(body))
        for attempt in range(1, self.read_attempts + 1):
            try:
                return parquet_ranges.read_columns(lambda http_range, etag: self.get_range(key, http_range, etag),
                                                   columns)
            except ClientError as exc:
                if _not_found(exc):
                    return None
                raise
            except ObjectChanged:
                if attempt == self.read_attempts:
                    raise
        raise AssertionError("unreachable")

    def write_json(self, key: str, value: Any, **conditions) -> None:
        """One JSON object (`conditions`: see `put_bytes`)."""
        self.put_bytes(key, json.dumps(value, sort_keys=True, default=str).encode(), "application/json", **conditions)

    def read_json(self, key: str) -> Any | None:
        body = self.get_optional(key)
        return None if body is None else json.loads(body)


def _is_contract_output(capture_prefix: str, key: str) -> bool:
    """The legacy dashboards read `<capture>/_replay_summary` and `<capture>/_counterfactual`."""
    root = capture_prefix.rstrip("/")
    return key.startswith((f"{root}/_replay_summary/", f"{root}/_counterfactual/"))

