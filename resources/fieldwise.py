"""Resources whose per-run config overrides field by field.

Dagster turns the values a `ConfigurableResource` is built with into ONE default for its whole
config dict, so a run config that sets a single field (`replay_model: {config: {timeout_s: 3}}`)
replaces that default and every other field falls back to its class default: the endpoint and
key bound from the environment silently became `None` and replays went to the public API.
Here each bound value (an `EnvVar` included) becomes the default of its own field instead, so an
override changes exactly the fields it names.
"""

import dagster as dg

# No public API rebuilds a resource's config schema field by field: these two internals do (dagster 1.13).
from dagster._config.pythonic_config.conversion_utils import copy_with_default
from dagster._core.definitions.definition_config_schema import DefinitionConfigSchema


class FieldwiseResource(dg.ConfigurableResource):
    def __init__(self, **data):
        super().__init__(**data)
        state = self._state__internal__
        shape, bound = state.schema.config_type, state.resolved_config_dict
        fields = {name: copy_with_default(field, bound[name]) if name in bound else field
                  for name, field in shape.fields.items()}
        schema = dg.Field(dg.Shape(fields, description=shape.description), description=state.schema.description)
        self._state__internal__ = state._replace(config_schema=DefinitionConfigSchema(schema))
