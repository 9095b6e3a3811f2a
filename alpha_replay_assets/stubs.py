"""Stub materialisations: how a dry run materialises, a stub that says so and touches nothing (docs/domain.md §4)."""


import dagster as dg

STUB_TAG = "alpha_replay/stub"


def stub_result(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """A materialisation marked `stub: true` (metadata and tag) that wrote nothing anywhere.

    Freshness and stale-metric checks ignore materialisations carrying the tag.
    """
    context.log.warning("dry run: materialising a stub; no S3, model or CloudWatch calls were made")
    return dg.MaterializeResult(
        metadata={"stub": True, "partitions": ", ".join(context.partition_keys)},
        tags={STUB_TAG: "true"},
    )


def is_stub(materialization: dg.AssetMaterialization | None) -> bool:
    return materialization is not None and (materialization.tags or {}).get(STUB_TAG) == "true"
