"""scripts/gpu_parallel_runs.py's watch: when and how a run's end is projected, which runs it stops
and when it starts queued ones."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_parallel_runs.py"


@pytest.fixture()
def script(monkeypatch):
    """The script as a module; the start time it puts in the environment stays inside the test."""
    monkeypatch.setattr(os, "environ", dict(os.environ))
    spec = importlib.util.spec_from_file_location("gpu_parallel_runs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def epoch_lines(times: list[float], epochs: int = 120) -> list[str]:
    return [f"epoch {epoch}/{epochs} at {at:.1f} s: test 50.00" for epoch, at in enumerate(times, start=1)]


def test_the_end_is_projected_from_the_pace_of_the_last_three_epochs_once_past_the_start(script) -> None:
    assert script.projected_end([]) == (0, 0, None)
    start = [30.0, 45.0, 58.0]  # slow epochs while every worker starts
    assert script.projected_end(["loading", *epoch_lines(start)]) == (3, 120, None)
    steady = start + [60.0, 62.0, 64.0, 66.0]  # then 2 s an epoch
    done, epochs, end = script.projected_end(epoch_lines(steady))
    assert (done, epochs) == (7, 120)
    assert end == pytest.approx(66.0 + (120 - 7) * 2.0 + script.FINISH_SECONDS)


def test_a_resumed_run_is_projected_from_the_epochs_of_this_call(script) -> None:
    resumed = [f"epoch {epoch}/120 at {at:.1f} s: test 70.00" for epoch, at in
               zip(range(14, 21), [13.4, 16.4, 19.3, 22.1, 25.0, 27.8, 30.6])]
    assert script.projected_end(resumed[:4]) == (17, 120, None)  # a resumed start is as slow as a fresh one
    done, epochs, end = script.projected_end(resumed)
    assert (done, epochs) == (20, 120)
    assert end == pytest.approx(30.6 + 100 * (30.6 - 22.1) / 3 + script.FINISH_SECONDS)


def test_no_run_stops_before_the_deadline_free_slots_take_queued_runs_and_all_stop_after_it(script) -> None:
    assert script.next_actions(["a", "b", "c"], waiting=4, processes=3, now=300.0, budget=560.0) == ([], 0)
    assert script.next_actions(["a"], waiting=4, processes=3, now=300.0, budget=560.0) == ([], 2)
    assert script.next_actions(["a"], waiting=1, processes=3, now=300.0, budget=560.0) == ([], 1)
    assert script.next_actions([], waiting=0, processes=3, now=300.0, budget=560.0) == ([], 0)
    assert script.next_actions(["a", "c"], waiting=4, processes=3, now=561.0, budget=560.0) == (["a", "c"], 0)
