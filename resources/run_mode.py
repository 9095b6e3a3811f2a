"""The one run-mode switch every asset honours the same way (docs/domain.md §4), decided from the run.

A dry run is a property of the *run*, read from what every launch path stores on it: the run
config (`resources.run_mode.config.dry_run`), the run tag `alpha_replay/dry_run` (which
`preflight_job` carries, so `dg launch --partition`, which drops a job's default config, cannot
turn it into a real run), or the job itself. Every resource that talks to the network asks
`is_dry_run(run)` when it is set up and refuses to build its client in a dry run: an asset that
forgot its guard fails loudly instead of writing.
"""

import dagster as dg
from pydantic import Field, PrivateAttr

DRY_RUN_TAG = "alpha_replay/dry_run"
DRY_RUN_JOBS = ("preflight_job",)
# A hand-typed tag errs towards dry: any value but these (any case) means a dry run.
NOT_DRY = ("false", "0", "no", "off")


class DryRunViolation(RuntimeError):
    """Something tried to reach S3, CloudWatch, SNS or the model provider during a dry run."""


def is_dry_run(run: dg.DagsterRun | None) -> bool:
    if run is None:  # outside a run (a sensor tick, a script): nothing to decide from
        return False
    config = ((run.run_config or {}).get("resources", {}).get("run_mode", {}) or {}).get("config", {}) or {}
    tag = run.tags.get(DRY_RUN_TAG)
    return (bool(config.get("dry_run")) or (tag is not None and tag.strip().lower() not in NOT_DRY)
            or run.job_name in DRY_RUN_JOBS)


class DryRunGuard(dg.ConfigurableResource):
    """Mixin for resources that make requests: `refuse_in_dry_run(what)` before building a client."""

    _dry_run: bool = PrivateAttr(default=False)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._dry_run = is_dry_run(context.run)

    def refuse_in_dry_run(self, what: str) -> None:
        if self._dry_run:
            raise DryRunViolation(f"dry run: refusing to {what}")


class RunMode(DryRunGuard):
    """`dry_run`: boot everything, touch nothing, materialise stubs marked `stub: true`.
    `emit_metrics: false`: compute and store results, skip CloudWatch. Set per run in the
    launchpad: `resources: {run_mode: {config: {dry_run: true}}}`, or add the run tag
    `alpha_replay/dry_run: true` to any run.
    """

    dry_run: bool = Field(default=False, description="Preflight: no S3, model or CloudWatch traffic.")
    emit_metrics: bool = Field(default=True, description="Send metrics to CloudWatch.")

    @property
    def dry(self) -> bool:
        """Whether this run is a dry run, however it was asked for (config, tag or job)."""
        return self.dry_run or self._dry_run
