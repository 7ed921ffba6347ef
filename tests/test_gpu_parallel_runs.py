"""scripts/gpu_parallel_runs.py: how the watch projects a run's end from its checkpoint, the
deadline its processes' sweep gets, the checkpoints of unfinished runs it packs; and
scripts/gpu_grid.sh queue, dry-run on CPU end to end (measure, train, pack, fetch)."""

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


def test_a_run_s_end_is_projected_from_its_last_epoch_s_time(script) -> None:
    from anl.engine import RunProgress

    timed = RunProgress("training", 20, 120, "host:1", {"train_time_s": 2.5, "eval_time_s": 0.5})
    assert script.progress_line("0123456789", timed, now=100.0) == (
        f"012345 20/120 -> {100 + 100 * 3.0 + script.FINISH_SECONDS:.0f} s")
    assert script.progress_line("0123456789", RunProgress("training", 0, 120, "host:1"), now=5.0) == "012345 0/120 -> ?"


def test_a_worker_whose_deadline_has_passed_trains_nothing(script, monkeypatch, tmp_path) -> None:
    from anl.results import ResultsStore

    monkeypatch.setattr(script.torch, "set_num_threads", lambda threads: None)  # this process keeps its threads
    monkeypatch.setattr(script, "train_sweep", lambda *args, **kwargs: pytest.fail("a run started after the deadline"))
    script.work([], ResultsStore(tmp_path), "cpu", 1, budget=script.FINISH_SECONDS / 2)
    budgets = []
    monkeypatch.setattr(script, "train_sweep", lambda configs, store, **kwargs: budgets.append(kwargs["time_budget"])
                        or [])
    script.work([], ResultsStore(tmp_path), "cpu", 1, budget=1e6)
    assert 1e6 - script.FINISH_SECONDS - 60 < budgets[0] < 1e6 - script.FINISH_SECONDS


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
