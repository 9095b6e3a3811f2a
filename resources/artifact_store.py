"""S3 access for alpha-replay: the read-only capture corpus and the analytics outputs we own."""


import io
import json
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import dagster as dg
import pandas as pd
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from dagster_aws.s3 import S3Resource
from pydantic import Field, PrivateAttr


class ArtifactStore(dg.ConfigurableResource):
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

    _client: Any = PrivateAttr(default=None)

    @property
    def client(self):
        """One boto3 client per resource instance, its connection pool sized for the workers."""
        if self._client is None:
            s3 = self.s3
            session = boto3.session.Session(profile_name=s3.profile_name)
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
                    # replay workers share this client with the fetch pool
                    max_pool_connections=max(32, 2 * self.max_workers),
                ),
            )
        return self._client

    # -- the capture corpus (read-only) -------------------------------------------------------

    def list_prefix(self, prefix: str) -> Iterator[dict]:
        """Every object under `prefix`, page by page (S3 returns at most 1,000 per page)."""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def fetch_many(self, keys: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        """(key, body) for every key, fetched by a bounded thread pool; S3 errors propagate."""
        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="s3-get") as pool:
            yield from pool.map(lambda key: (key, self.get_bytes(key)), keys)

    def get_bytes(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    # -- analytics outputs (ours) -------------------------------------------------------------

    def analytics_key(self, *parts: str) -> str:
        return "/".join([self.analytics_prefix.rstrip("/"), *parts])

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        if not key.startswith(self.analytics_prefix) and not _is_contract_output(self.capture_prefix, key):
            raise ValueError(f"refusing to write {key!r} outside the analytics outputs")
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def get_optional(self, key: str) -> bytes | None:
        try:
            return self.get_bytes(key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise

    def write_parquet(self, key: str, frame: pd.DataFrame) -> int:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False, compression="zstd")
        self.put_bytes(key, buffer.getvalue(), "application/vnd.apache.parquet")
        return buffer.tell()

    def read_parquet(self, key: str, columns: list[str] | None = None) -> pd.DataFrame | None:
        body = self.get_optional(key)
        return None if body is None else pd.read_parquet(io.BytesIO(body), columns=columns)

    def write_json(self, key: str, value: Any) -> None:
        self.put_bytes(key, json.dumps(value, sort_keys=True, default=str).encode(), "application/json")

    def read_json(self, key: str) -> Any | None:
        body = self.get_optional(key)
        return None if body is None else json.loads(body)


def _is_contract_output(capture_prefix: str, key: str) -> bool:
    """The legacy dashboards read `<capture>/_replay_summary` and `<capture>/_counterfactual`."""
    root = capture_prefix.rstrip("/")
    return key.startswith((f"{root}/_replay_summary/", f"{root}/_counterfactual/"))

