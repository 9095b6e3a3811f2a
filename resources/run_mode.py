"""The one run-mode switch every asset honours the same way (domain §4)."""


import dagster as dg
from pydantic import Field


class RunMode(dg.ConfigurableResource):
    """`dry_run`: boot everything, touch nothing, materialise stubs marked `stub: true`.
    `emit_metrics: false`: compute and store results, skip CloudWatch. Set per run in the
    launchpad: `resources: {run_mode: {config: {dry_run: true}}}`.
    """

    dry_run: bool = Field(default=False, description="Preflight: no S3, model or CloudWatch traffic.")
    emit_metrics: bool = Field(default=True, description="Send metrics to CloudWatch.")
