"""Generated LSP messages (hypothesis) against one ``code-diffusion serve`` process: valid
shapes with hostile values, malformed params, bad envelopes, frames that are not JSON."""

from __future__ import annotations

import pytest

from code_diffusion.reliability.fuzz import run_fuzz

pytestmark = pytest.mark.e2e


def test_a_thousand_generated_messages_get_proper_answers_and_no_crash():
    figures = run_fuzz(1_100, random_seed=20261125)
    assert figures["messages"] >= 1_000, figures
    assert figures["crashes"] == 0, figures
    assert figures["failures"] == 0, figures["failure_examples"]
    assert figures["internal_errors"] == 0
    assert figures["exit_code"] == 0
    assert figures["by_kind"].get("result", 0) > 0, "only errors: the values never got through"
