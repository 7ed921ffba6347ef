"""scripts/gpu_parallel_runs.py's watch: when a run's end is projected, and which runs it stops."""

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


def test_after_a_run_is_stopped_only_the_epochs_since_then_set_the_pace(script) -> None:
    times = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]  # 10 s an epoch while sharing the GPU with a run stopped at 55 s
    assert script.projected_end(epoch_lines(times), since=55.0) == (6, 120, None)
    times += [64.0, 68.0, 72.0]  # then 4 s an epoch
    done, _, end = script.projected_end(epoch_lines(times), since=55.0)
    assert end == pytest.approx(72.0 + (120 - done) * 4.0 + script.FINISH_SECONDS)


def test_the_last_run_in_the_queue_stops_while_one_would_end_late_but_never_the_only_one(script) -> None:
    on_time = {"a": 400.0, "b": None, "c": 500.0}
    assert script.runs_to_stop(on_time, now=100.0, deadline=560.0) == []
    late = {"a": 400.0, "b": 600.0, "c": 500.0}
    assert script.runs_to_stop(late, now=100.0, deadline=560.0) == ["c"]
    assert script.runs_to_stop({"b": 600.0}, now=100.0, deadline=560.0) == []
    assert script.runs_to_stop(on_time, now=561.0, deadline=560.0) == ["a", "b", "c"]
