"""Load: the typing storm and the long session, shortened to a few seconds with the same
invariants, and at full size (20 s storm, 10,000-request session: a few minutes together),
the ``slow`` tests below; ``python -m code_diffusion.reliability storm|session`` prints their
figures and docs/reliability.md has them. ``-m "not slow"`` leaves the full sizes out.
"""

from __future__ import annotations

import asyncio

import pytest
from reliability_servers import FAKE_PROBE

from code_diffusion.reliability.longrun import run_session
from code_diffusion.reliability.storm import run_storm

pytestmark = pytest.mark.e2e


def assert_storm_held(figures: dict) -> None:
    assert figures["crashes"] == 0, figures
    assert figures["exit_code"] == 0 and figures["served_after"], figures
    assert figures["unanswered"] == 0 and figures["answers"]["error"] == 0, figures["errors"]
    answered = sum(figures["answers"].values())
    assert answered == figures["requests_sent"], figures["answers"]
    # At most one request per document may still run; older ones are only being answered.
    assert figures["max_live_waiting_per_document"] <= 1, figures
    assert figures["max_concurrent_fills"] == 1, figures
    # Every answer the model produced was for the document's current version.
    assert figures["stale_deliveries"] == 0, figures
    assert figures["superseded_deliveries"] == 0, figures
    assert figures["edits_asked"] == 0, figures
    assert figures["rss_growth_pct"] <= 5.0, figures
    assert figures["fds"][0] == figures["fds"][1], figures
    assert figures["threads"][0] == figures["threads"][1], figures


def test_typing_storm_short_with_the_embedded_model():
    figures = asyncio.run(run_storm(seconds=4.0, rate=50.0))
    assert_storm_held(figures)
    assert figures["fills"] > 0 and figures["forward_passes"] > 0


def test_typing_storm_short_with_answers_that_carry_items():
    """The fake model always writes something, so answers with items are checked too."""
    figures = asyncio.run(run_storm(seconds=4.0, rate=50.0, command=FAKE_PROBE))
    assert_storm_held(figures)
    assert figures["answers"]["items"] > 0, figures["answers"]
    assert figures["answers"]["cancelled"] > 0  # the cancelling documents did cancel


@pytest.mark.slow
def test_typing_storm_full_size():
    """50 keystrokes and inline completion requests a second for 20 s over 5 documents."""
    figures = asyncio.run(run_storm(seconds=20.0, rate=50.0))
    assert_storm_held(figures)


def assert_session_held(figures: dict, requests: int) -> None:
    assert figures["crashes"] == 0 and figures["exit_code"] == 0, figures
    assert figures["requests"] >= requests * 0.99, figures
    assert figures["failed"] == 0, figures["errors"]
    assert figures["edits_asked"] == 0
    assert figures["fds_min_max"][0] == figures["fds_min_max"][1], figures["samples"]
    assert figures["threads_min_max"][0] == figures["threads_min_max"][1], figures["samples"]
    assert figures["rss_growth_pct"] <= 5.0, figures["samples"]


def test_long_session_short():
    figures = asyncio.run(run_session(requests=240, sample_every=12))
    assert_session_held(figures, 240)


@pytest.mark.slow
def test_long_session_full_size():
    figures = asyncio.run(run_session(requests=10_000, sample_every=100))
    assert_session_held(figures, 10_000)
