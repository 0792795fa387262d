"""RunConfig refuses policy parameters that the run itself hands the policy factory."""

from __future__ import annotations

import pytest

from v1d3.errors import ConfigError
from v1d3.eval.config import POLICY_CONTEXT, RunConfig


@pytest.mark.parametrize("key", sorted(POLICY_CONTEXT))
@pytest.mark.parametrize("field", ["dispatch_params", "reposition_params"])
def test_a_policy_parameter_may_not_be_the_runs_own(field: str, key: str) -> None:
    # from a hand-edited config.json: one line, not "got multiple values for argument"
    with pytest.raises(ConfigError, match=rf"^run config: {field} may not set '{key}'"):
        RunConfig(**{field: {key: "x"}})  # type: ignore[arg-type]
