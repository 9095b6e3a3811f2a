"""CloudWatch: where the weekly metrics go, and where the stale-metric checks read them back."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import boto3
from pydantic import Field, PrivateAttr, field_validator

from resources.fieldwise import FieldwiseResource
from resources.run_mode import DryRunGuard

PUT_CHUNK = 20  # datapoints per PutMetricData call, well inside every API limit


@dataclass(frozen=True)
class Datapoint:
    name: str
    value: float
    unit: str
    timestamp: dt.datetime
    dimensions: dict[str, str] = field(default_factory=dict)


class CloudWatchMetrics(FieldwiseResource, DryRunGuard):
    namespace: str = Field(default="AlphaEngine/Eval")
    endpoint_url: str | None = Field(default=None, description="None = real AWS.")
    region_name: str = Field(default="us-east-1")
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None

    _client: Any = PrivateAttr(default=None)

    @field_validator("namespace")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        # moto accepts the reserved AWS/ namespace; real CloudWatch rejects it. Fail here first.
        if value.startswith("AWS/"):
            raise ValueError("the AWS/ namespace is reserved")
        return value

    @property
    def client(self):
        self.refuse_in_dry_run("build a CloudWatch client")
        if self._client is None:
            self._client = boto3.client(
                "cloudwatch", endpoint_url=self.endpoint_url, region_name=self.region_name,
                aws_access_key_id=self.aws_access_key_id, aws_secret_access_key=self.aws_secret_access_key,
                aws_session_token=self.aws_session_token,
            )
        return self._client

    def put(self, datapoints: list[Datapoint]) -> int:
        for start in range(0, len(datapoints), PUT_CHUNK):
            self.client.put_metric_data(
                Namespace=self.namespace,
                MetricData=[
                    {"MetricName": d.name, "Value": d.value, "Unit": d.unit, "Timestamp": d.timestamp,
                     "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(d.dimensions.items())]}
                    for d in datapoints[start : start + PUT_CHUNK]
                ],
            )
        return len(datapoints)

    def newest(self, name: str, dimensions: dict[str, str], lookback: dt.timedelta,
               now: dt.datetime) -> tuple[dt.datetime, float] | None:
        """(timestamp, value) of the newest datapoint of one series within `lookback`, or None."""
        reply = self.client.get_metric_data(
            MetricDataQueries=[{
                "Id": "m0",
                "MetricStat": {"Metric": {"Namespace": self.namespace, "MetricName": name, "Dimensions": [
                                   {"Name": k, "Value": v} for k, v in sorted(dimensions.items())]},
                               "Period": 3600, "Stat": "Maximum"},
                "ReturnData": True,
            }],
            StartTime=now - lookback, EndTime=now + dt.timedelta(hours=1), ScanBy="TimestampDescending",
        )
        result = reply["MetricDataResults"][0]
        if not result["Timestamps"]:
            return None
        newest = max(range(len(result["Timestamps"])), key=lambda i: result["Timestamps"][i])
        return result["Timestamps"][newest], result["Values"][newest]
