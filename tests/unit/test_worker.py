"""The model worker: states, latest-wins, staleness, debounce, fairness and cancellation."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds fakes.py

from code_diffusion.engine.loading import LoadOptions
from code_diffusion.worker import (
    ModelUnavailable,
    ModelWorker,
    StaleDocument,
    Superseded,
    WorkerState,
    WorkerStatus,
    WorkerStopped,
)
from fakes import FakeGenerator, fake_loader


class Harness:
    def __init__(self, generator: FakeGenerator, **loader_kwargs) -> None:
        self.generator = generator
        self.statuses: list[WorkerStatus] = []
        self.changed = asyncio.Event()
        self.worker = ModelWorker(fake_loader(generator, **loader_kwargs), self.on_status)

    def on_status(self, status: WorkerStatus) -> None:
        self.statuses.append(status)
        self.changed.set()

    async def until(self, state: WorkerState) -> WorkerStatus:
        while True:
            if self.statuses and self.statuses[-1].state is state:
                return self.statuses[-1]
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 10)

    async def ready(self, options: LoadOptions | None = None) -> None:
        self.worker.start(options or LoadOptions())
        await self.until(WorkerState.READY)

    def fill(self, text: str = "x = ", **params):
        params.setdefault("steps", 4)

        def job(model, should_stop):
            return model.fill(text, len(text), should_stop=should_stop, **params)

        return job


@pytest.fixture
async def gated():
    gate = threading.Event()
    harness = Harness(FakeGenerator(gate=gate))
    await harness.ready()
    yield harness, gate
    gate.set()
    harness.worker.stop()
    assert harness.worker.join(5)


async def wait_thread(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, 5)


async def test_load_reports_phases_then_ready():
    harness = Harness(FakeGenerator())
    await harness.ready()
    assert [(s.state, s.progress, s.message) for s in harness.statuses] == [
        (WorkerState.LOADING, 0, "Loading the model"),
        (WorkerState.LOADING, 50, "Loading the fake model"),
        (WorkerState.READY, None, None),
    ]
    assert harness.statuses[-1].info.name == "fake-diffusion"
    harness.worker.stop()


async def test_run_returns_the_result_and_reports_latency():
    harness = Harness(FakeGenerator())
    await harness.ready()
    result = await harness.worker.run("a", harness.fill(num_samples=2))
    assert [c.text for c in result.candidates] == ["value_0", "value_1"]
    states = [s.state for s in harness.statuses[3:]]
    assert states == [WorkerState.BUSY, WorkerState.READY]
    assert harness.statuses[-1].last_latency_ms is not None
    harness.worker.stop()


async def test_requests_wait_for_the_model_to_load():
    harness = Harness(FakeGenerator(), delay=0.2)
    harness.worker.start(LoadOptions())
    result = await harness.worker.run("a", harness.fill())
    assert result.candidates[0].text == "value_0"
    harness.worker.stop()


async def test_a_newer_request_supersedes_the_running_one(gated):
    harness, gate = gated
    first = asyncio.create_task(harness.worker.run("doc", harness.fill(steps=8)))
    await wait_thread(harness.generator.reached_step)
    second = asyncio.create_task(harness.worker.run("doc", harness.fill("y = ", steps=8)))
    with pytest.raises(Superseded):
        await first  # answered at once, while the model is still held at step 1
    gate.set()
    assert (await second).candidates[0].text == "value_0"
    old, new = harness.generator.calls
    assert old.cancelled and old.steps_run == 1  # never reached the later steps
    assert new.steps_run == 8 and not new.cancelled


async def test_at_most_one_request_per_key_waits(gated):
    harness, gate = gated
    busy = asyncio.create_task(harness.worker.run("other", harness.fill()))
    await wait_thread(harness.generator.reached_step)
    older = asyncio.create_task(harness.worker.run("doc", harness.fill("a = ")))
    await asyncio.sleep(0)
    newer = asyncio.create_task(harness.worker.run("doc", harness.fill("b = ")))
    with pytest.raises(Superseded):
        await older
    gate.set()
    await busy
    await newer
    assert [c.text for c in harness.generator.calls] == ["x = ", "b = "]


async def test_a_stale_request_is_dropped_before_it_runs(gated):
    harness, gate = gated
    busy = asyncio.create_task(harness.worker.run("other", harness.fill()))
    await wait_thread(harness.generator.reached_step)
    version = {"doc": 1}
    stale = asyncio.create_task(harness.worker.run(
        "doc", harness.fill("s = "), is_current=lambda: version["doc"] == 1))
    await asyncio.sleep(0)
    version["doc"] = 2
    gate.set()
    await busy
    with pytest.raises(StaleDocument):
        await stale
    assert [c.text for c in harness.generator.calls] == ["x = "]


async def test_drop_stale_stops_a_running_request(gated):
    harness, gate = gated
    current = {"ok": True}
    running = asyncio.create_task(harness.worker.run(
        "doc", harness.fill(), is_current=lambda: current["ok"]))
    await wait_thread(harness.generator.reached_step)
    current["ok"] = False
    assert harness.worker.drop_stale() == 1
    with pytest.raises(StaleDocument):
        await running
    gate.set()


async def test_a_result_is_not_delivered_for_a_document_that_changed_as_the_fill_ended():
    """The change lands after the fill's last step but before the caller wakes up (drop_stale
    has nothing running to stop by then): the caller gets StaleDocument, not the text."""
    harness = Harness(FakeGenerator())
    await harness.ready()
    version = {"doc": 1}
    fill = harness.fill()

    def job(model, should_stop):
        result = fill(model, should_stop)
        version["doc"] = 2  # the buffer moves on while the result is on its way
        return result

    with pytest.raises(StaleDocument, match="changed while the model ran"):
        await harness.worker.run("doc", job, is_current=lambda: version["doc"] == 1)
    assert await harness.worker.run("doc", harness.fill()) is not None  # the worker goes on
    harness.worker.stop()
    assert harness.worker.join(5)


async def test_debounce_lets_only_the_last_of_a_burst_reach_the_model():
    harness = Harness(FakeGenerator())
    await harness.ready()
    tasks = [asyncio.create_task(harness.worker.run("doc", harness.fill(f"v{i} = "),
                                                    debounce=0.05)) for i in range(3)]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [type(r) for r in results[:2]] == [Superseded, Superseded]
    assert [c.text for c in harness.generator.calls] == ["v2 = "]
    harness.worker.stop()


async def test_documents_are_served_in_queue_order(gated):
    harness, gate = gated
    busy = asyncio.create_task(harness.worker.run("zero", harness.fill("z = ")))
    await wait_thread(harness.generator.reached_step)
    a1 = asyncio.create_task(harness.worker.run("a", harness.fill("a1 = ")))
    await asyncio.sleep(0)
    b = asyncio.create_task(harness.worker.run("b", harness.fill("b = ")))
    await asyncio.sleep(0)
    a2 = asyncio.create_task(harness.worker.run("a", harness.fill("a2 = ")))
    gate.set()
    await asyncio.gather(busy, b, a2)
    with pytest.raises(Superseded):
        await a1
    assert [c.text for c in harness.generator.calls] == ["z = ", "b = ", "a2 = "]


async def test_cancelling_the_caller_stops_generation_between_steps(gated):
    harness, gate = gated
    task = asyncio.create_task(harness.worker.run("doc", harness.fill(steps=50)))
    await wait_thread(harness.generator.reached_step)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    gate.set()
    after = await harness.worker.run("doc", harness.fill("next = "))
    assert after.candidates
    first = harness.generator.calls[0]
    assert first.cancelled and first.steps_run == 1


async def test_failed_load_is_an_error_state_until_restarted(tmp_path):
    harness = Harness(FakeGenerator())
    harness.worker.start(LoadOptions(model_path=str(tmp_path / "missing")))
    status = await harness.until(WorkerState.ERROR)
    assert "missing" in status.message and "restartModel" in status.message
    with pytest.raises(ModelUnavailable, match="missing"):
        await harness.worker.run("doc", harness.fill())
    await harness.ready(LoadOptions(model_path=str(tmp_path)))
    assert (await harness.worker.run("doc", harness.fill())).candidates
    harness.worker.stop()


async def test_generation_errors_reach_the_caller():
    harness = Harness(FakeGenerator(fail_with=ValueError("bad hole")))
    await harness.ready()
    with pytest.raises(ValueError, match="bad hole"):
        await harness.worker.run("doc", harness.fill())
    assert harness.worker.state is WorkerState.READY
    harness.worker.stop()


async def test_stop_fails_waiting_requests_and_ends_the_thread(gated):
    harness, gate = gated
    running = asyncio.create_task(harness.worker.run("a", harness.fill()))
    await wait_thread(harness.generator.reached_step)
    waiting = asyncio.create_task(harness.worker.run("b", harness.fill()))
    await asyncio.sleep(0)
    harness.worker.stop()
    for task in (running, waiting):
        with pytest.raises(WorkerStopped):
            await task
    gate.set()
    assert harness.worker.join(5)
    with pytest.raises(WorkerStopped):
        await harness.worker.run("c", harness.fill())
