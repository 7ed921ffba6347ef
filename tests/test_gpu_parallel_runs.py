"""scripts/gpu_parallel_runs.py's watch: when and how a run's end is projected, which runs it stops
and when it starts queued ones; the checkpoints of unfinished runs it packs; and scripts/gpu_grid.sh
queue, dry-run on CPU end to end (measure, train, pack, fetch)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tarfile
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


def test_the_checkpoints_of_unfinished_runs_are_packed_from_the_store_s_checkpoint_folder(script, tmp_path,
                                                                                          monkeypatch) -> None:
    from anl.engine import checkpoint_path
    from anl.results import ResultsStore

    monkeypatch.setenv("ANL_CHECKPOINTS", str(tmp_path / "fast-disk"))  # as gpu_grid.sh sets it
    store = ResultsStore(tmp_path / "results")
    queue = script.queue_of(["mnist-bf16"], [], store, {"epochs": 1}, limit=3)
    assert len(queue) == 3 and all(config.epochs == 1 for config in queue)
    for config in queue[:2]:
        checkpoint_path(store, config.key).parent.mkdir(parents=True, exist_ok=True)
        checkpoint_path(store, config.key).write_bytes(b"state")
    archive = tmp_path / "checkpoints.tar.gz"
    assert script.pack_checkpoints(queue, store, archive) == [config.key for config in queue[:2]]
    with tarfile.open(archive) as packed:
        assert sorted(packed.getnames()) == sorted(f"{config.key}.pt" for config in queue[:2])
    assert script.pack_checkpoints(queue[2:], store, tmp_path / "none.tar.gz") == []
    assert not (tmp_path / "none.tar.gz").exists()


def test_the_queue_command_measures_trains_packs_and_fetches_records_and_checkpoints_on_cpu(tmp_path, fake_mnist) -> None:
    from anl.engine import checkpoint_dir
    from anl.results import ResultsStore

    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "DEVICE": "cpu", "ANL_DATA": str(fake_mnist),
           "ANL_CACHE": str(tmp_path / "cache"), "ANL_RESULTS": str(tmp_path / "device-results"),
           "ANL_CHECKPOINTS": str(tmp_path / "checkpoints"), "PYTHON": sys.executable, "OMP_NUM_THREADS": "1",
           "MEASURE_SECONDS": "12", "BENCH_MODELS": "cnn4"}
    script = str(SCRIPT.parent / "gpu_grid.sh")
    tiny = ["--grids", "mnist-reduced", "--limit", "2", "--epochs", "1", "--train-subset", "60", "--batch-size", "30",
            "--train-eval-size", "0", "--processes", "2", "--threads", "1"]
    done = subprocess.run(["bash", script, "queue", "300", *tiny], env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "device: cpu" in (out / "bench.log").read_text()  # its first line, at least, within 12 s
    log = (out / "sweep.log").read_text()
    assert "queue: 2 unrecorded runs" in log and "packed 2 new records" in log
    assert "packed the checkpoints of 0 unfinished runs" in log
    # a run cut short elsewhere: its checkpoint comes back into the checkpoint folder of the store fetched into
    with tarfile.open(out / "checkpoints.tar.gz", "w:gz") as packed:
        (tmp_path / "0123456789abcdef.pt").write_bytes(b"state")
        packed.add(tmp_path / "0123456789abcdef.pt", arcname="0123456789abcdef.pt")
    env["ANL_RESULTS"] = str(tmp_path / "results")
    env["ANL_CHECKPOINTS"] = ""
    fetched = subprocess.run(["bash", script, "fetch", str(out)], env=env, capture_output=True, text=True, timeout=60)
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.splitlines()[0] == "fetched 2 new records into " + env["ANL_RESULTS"] + "/runs (0 already there)"
    assert (checkpoint_dir(ResultsStore(tmp_path / "results")) / "0123456789abcdef.pt").read_bytes() == b"state"
