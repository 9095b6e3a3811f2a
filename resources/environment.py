"""Resources bound from the environment: one place that says which variable configures what.

Secrets are passed as `EnvVar`s (resolved by Dagster at run time, never stored or logged);
unset credentials fall through to boto3's own chain (instance role, profile).
"""


import json
import os

import dagster as dg
from dagster_aws.s3 import S3Resource

from resources.artifact_store import ArtifactStore
from resources.metrics import CloudWatchMetrics
from resources.notifier import Notifier
from resources.replay_model import DEFAULT_TARGET_MODELS, ReplayModel
from resources.router_client import DEFAULT_BASE_URL as ROUTER_DEFAULT_BASE_URL
from resources.run_mode import RunMode

ENV_S3_ENDPOINT = "ALPHA_REPLAY_S3_ENDPOINT_URL"  # unset = real AWS
ENV_CLOUDWATCH_ENDPOINT = "ALPHA_REPLAY_CLOUDWATCH_ENDPOINT_URL"  # unset = real AWS
ENV_BUCKET = "ALPHA_REPLAY_BUCKET"
DEFAULT_BUCKET = "alpha-engine-research"  # production's (docs/domain.md §1.1)
ENV_REGION = "AWS_REGION"
ENV_ANTHROPIC_BASE_URL = "ALPHA_REPLAY_ANTHROPIC_BASE_URL"  # unset = api.anthropic.com
# The OpenAI-compatible router that carries `vendor/model` slugs (the think tank's models).
ENV_OPENAI_COMPAT_BASE_URL = "ALPHA_REPLAY_OPENAI_COMPAT_BASE_URL"  # unset = OpenRouter
ENV_OPENAI_COMPAT_API_KEY = "ALPHA_REPLAY_OPENAI_COMPAT_API_KEY"  # a secret: passed as EnvVar
ENV_TARGET_MODELS = "ALPHA_REPLAY_TARGET_MODELS"  # comma-separated cheap model ids: the default list
# JSON {agent_id_base: [model ids]}: the families' own targets. Set, it replaces the built-in map
# (`{}`: every family under the default list); unset, the think tank replays under a cheaper router model.
ENV_TARGET_MODELS_BY_FAMILY = "ALPHA_REPLAY_TARGET_MODELS_BY_FAMILY"
ENV_ALERT_TOPIC = "ALPHA_REPLAY_ALERT_SNS_TOPIC_ARN"
ENV_ALERT_WEBHOOK = "ALPHA_REPLAY_ALERT_WEBHOOK_URL"  # a secret URL: passed as EnvVar
ENV_SNS_ENDPOINT = "ALPHA_REPLAY_SNS_ENDPOINT_URL"  # unset = real AWS
ENV_UI_URL = "ALPHA_REPLAY_UI_URL"


def env_secret(name: str) -> dg.EnvVar | None:
    return dg.EnvVar(name) if os.environ.get(name) else None


def env_list(name: str, default: str) -> list[str]:
    """A comma-separated variable as a list: items trimmed, empty ones dropped (`"a, b"` is a and b)."""
    return [item.strip() for item in (os.environ.get(name) or default).split(",") if item.strip()]


def env_targets_by_family(name: str, default: dict[str, list[str]]) -> dict[str, list[str]]:
    """A JSON object of family -> model ids (ids trimmed); a value that is not one fails here, naming the variable."""
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = json.loads(text)
        if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
            raise ValueError("expected a JSON object of family -> [model ids]")
        return {str(family): [str(m).strip() for m in models] for family, models in value.items()}
    except ValueError as exc:
        raise ValueError(f"{name}={text!r}: {exc}") from None


def aws_settings() -> dict:
    return {
        "region_name": os.environ.get(ENV_REGION, "us-east-1"),
        "aws_access_key_id": env_secret("AWS_ACCESS_KEY_ID"),
        "aws_secret_access_key": env_secret("AWS_SECRET_ACCESS_KEY"),
        "aws_session_token": env_secret("AWS_SESSION_TOKEN"),
    }


def resources_from_env(declared_targets: dict[str, list[str]] | None = None) -> dict:
    """The resources as the environment configures them; `declared_targets` (the families' own cheap
    targets, from the registry this package cannot import) is the per-family default the env replaces."""
    return {
        "store": ArtifactStore(
            s3=S3Resource(endpoint_url=os.environ.get(ENV_S3_ENDPOINT) or None, **aws_settings()),
            bucket=os.environ.get(ENV_BUCKET) or DEFAULT_BUCKET,
        ),
        "metrics": CloudWatchMetrics(endpoint_url=os.environ.get(ENV_CLOUDWATCH_ENDPOINT) or None, **aws_settings()),
        "replay_model": ReplayModel(
            api_key=env_secret("ANTHROPIC_API_KEY"),
            base_url=os.environ.get(ENV_ANTHROPIC_BASE_URL) or None,
            openai_compat_base_url=os.environ.get(ENV_OPENAI_COMPAT_BASE_URL) or ROUTER_DEFAULT_BASE_URL,
            openai_compat_api_key=env_secret(ENV_OPENAI_COMPAT_API_KEY),
            target_models=env_list(ENV_TARGET_MODELS, ",".join(DEFAULT_TARGET_MODELS)),
            target_models_by_family=env_targets_by_family(ENV_TARGET_MODELS_BY_FAMILY, declared_targets or {}),
        ),
        "notifier": Notifier(
            sns_topic_arn=os.environ.get(ENV_ALERT_TOPIC) or None,
            webhook_url=env_secret(ENV_ALERT_WEBHOOK),
            ui_base_url=os.environ.get(ENV_UI_URL, "http://127.0.0.1:3000"),
            endpoint_url=os.environ.get(ENV_SNS_ENDPOINT) or None,
            **aws_settings(),
        ),
        "run_mode": RunMode(),
    }
