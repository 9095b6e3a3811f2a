"""Where alerts go: an SNS topic and/or a webhook. Open-source Dagster alerts on nothing by itself."""

import json
import logging
import urllib.request
from typing import Any

import boto3
from pydantic import Field, PrivateAttr

from resources.fieldwise import FieldwiseResource
from resources.run_mode import DryRunGuard

NO_CHANNEL_HINT = "set ALPHA_REPLAY_ALERT_WEBHOOK_URL or ALPHA_REPLAY_ALERT_SNS_TOPIC_ARN"


class Notifier(FieldwiseResource, DryRunGuard):
    sns_topic_arn: str | None = Field(default=None, description="SNS topic to publish alerts to.")
    webhook_url: str | None = Field(default=None, description="URL that receives each alert as a JSON POST.")
    ui_base_url: str = Field(default="http://127.0.0.1:3000", description="Dagster UI, for links in alerts.")
    endpoint_url: str | None = Field(default=None, description="SNS endpoint; None = real AWS.")
    region_name: str = "us-east-1"
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None

    _sns: Any = PrivateAttr(default=None)

    @property
    def has_channel(self) -> bool:
        return bool(self.sns_topic_arn or self.webhook_url)

    def send(self, subject: str, alert: dict, log: logging.Logger | None = None) -> int:
        """Deliver one alert to every configured channel; returns how many took it. With no channel
        set the alert is not lost silently: it goes to `log` with a warning saying so."""
        self.refuse_in_dry_run("send an alert")
        body = json.dumps(alert, sort_keys=True, default=str)
        if not self.has_channel and log is not None:
            log.warning(f"no alert channel is set ({NO_CHANNEL_HINT}); the alert goes to this log only: "
                        f"{subject} {body}")
        sent = 0
        if self.sns_topic_arn:
            if self._sns is None:
                self._sns = boto3.client(
                    "sns", endpoint_url=self.endpoint_url, region_name=self.region_name,
                    aws_access_key_id=self.aws_access_key_id, aws_secret_access_key=self.aws_secret_access_key,
                    aws_session_token=self.aws_session_token,
                )
            self._sns.publish(TopicArn=self.sns_topic_arn, Subject=subject[:100], Message=body)
            sent += 1
        if self.webhook_url:
            request = urllib.request.Request(self.webhook_url, data=body.encode(), method="POST",
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10):
                sent += 1
        return sent
