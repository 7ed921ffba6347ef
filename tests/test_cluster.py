"""Workers sharing one results folder: claims on runs (atomic, stale after a silent heartbeat or a
dead process, taken over once), four concurrent workers on one grid, a worker killed mid-run and
resumed, the progress of each run, and the submitit job-array path on its local executor."""

from __future__ import annotations

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from anl import run_claims
from anl.cli import main
from anl.engine import checkpoint_path, run_progress, save_checkpoint
from anl.results import ResultsStore
from anl.train import RunConfig, train_sweep

REPOSITORY = Path(__file__).resolve().parents[1]

TINY = ["--dataset", "mnist", "--train-subset", "256", "--train-eval-size", "256", "--device", "cpu",
        "--precision", "fp32", "--no-progress"]


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """A results folder in tmp and its checkpoint folder."""
    monkeypatch.delenv("ANL_CHECKPOINTS", raising=False)
    return tmp_path / "results", tmp_path / "results" / "checkpoints"


def log_events(checkpoints: Path) -> list[tuple[str, str]]:
    """(event, key) of every line of claims.log."""
    lines = (checkpoints / run_claims.LOG_NAME).read_text().splitlines()
    return [(line.split()[1], line.split()[-2]) for line in lines]


def sweep_process(results: Path, checkpoints: Path, *arguments: str) -> subprocess.Popen:
    env = {**{name: value for name, value in os.environ.items() if name != "ANL_CHECKPOINTS"},
           "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPOSITORY)}
    return subprocess.Popen([sys.executable, "-m", "anl", "sweep", *TINY, "--results", str(results), *arguments],
                            env=env, cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


# --- claims --------------------------------------------------------------------------------------

def test_a_claim_is_held_once_nests_in_its_process_and_is_released(tmp_path) -> None:
    assert run_claims.acquire(tmp_path, "k1")
    owner = json.loads(run_claims.claim_path(tmp_path, "k1").read_text())
    assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
    assert run_claims.acquire(tmp_path, "k1")  # the same process again (a sweep's claim, then its trainer's)
    run_claims.release(tmp_path, "k1")
    assert run_claims.claim_path(tmp_path, "k1").exists()  # the outer claim still holds
    run_claims.release(tmp_path, "k1")
    assert not run_claims.claim_path(tmp_path, "k1").exists()
    run_claims.claim_path(tmp_path, "k0").write_text(json.dumps({"host": socket.gethostname(), "pid": 1, "token": "x"}))
    assert not run_claims.acquire(tmp_path, "k0")  # held by another live process, heartbeat fresh: not stale
    with run_claims.claimed(tmp_path, "k2") as mine:
        assert mine and run_claims.claim_path(tmp_path, "k2").exists()
    assert not run_claims.claim_path(tmp_path, "k2").exists()
    assert log_events(tmp_path) == [("claimed", "k1"), ("claimed", "k2")]


def test_a_silent_claim_is_taken_over_and_its_old_holder_does_not_remove_the_new_one(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ANL_CLAIM_STALE_S", "60")
    path = run_claims.claim_path(tmp_path, "k")
    path.write_text(json.dumps({"host": "another-host", "pid": 1, "token": "x"}))
    assert not run_claims.acquire(tmp_path, "k")  # fresh heartbeat on another host: not stale
    os.utime(path, (time.time() - 61, time.time() - 61))
    assert run_claims.acquire(tmp_path, "k")
    assert json.loads(path.read_text())["pid"] == os.getpid()
    assert log_events(tmp_path) == [("took-over-from", "k")]
    path.write_text(json.dumps({"host": "another-host", "pid": 1, "token": "y"}))  # taken over from us
    run_claims.release(tmp_path, "k")
    assert json.loads(path.read_text())["token"] == "y"


def test_the_claim_of_an_exited_process_on_this_host_is_stale_at_once(tmp_path) -> None:
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()
    path = run_claims.claim_path(tmp_path, "k")
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": exited.pid, "token": "x"}))
    assert run_claims.acquire(tmp_path, "k")
    run_claims.release(tmp_path, "k")


def test_a_bad_stale_time_is_named(monkeypatch) -> None:
    monkeypatch.setenv("ANL_CLAIM_STALE_S", "soon")
    with pytest.raises(ValueError, match="ANL_CLAIM_STALE_S='soon'"):
        run_claims.stale_after()


# --- workers ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_four_workers_on_one_grid_train_each_run_exactly_once(real_dataset, folders) -> None:
    real_dataset("mnist")
    results, checkpoints = folders
    grid = ["--losses", "ce,gce,sce", "--seeds", "1,2", "--epochs", "2"]
    workers = [sweep_process(results, checkpoints, *grid) for _ in range(4)]
    outputs = [worker.communicate(timeout=600)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * 4, outputs
    records = list(ResultsStore(results).records())
    events = log_events(checkpoints)
    trained = collections.Counter(key for event, key in events if event == "claimed")
    print(f"runs 6, workers 4, records {len(records)}, claims {len(events)}, "
          f"duplicates {sum(count - 1 for count in trained.values())}")
    assert len(records) == 6 and len({record["key"] for record in records}) == 6
    assert sorted(trained) == sorted(record["key"] for record in records)
    assert set(trained.values()) == {1} and len(events) == 6  # no run claimed twice, none taken over
    assert list(checkpoints.glob("*.claim")) == [] and list(checkpoints.glob("*.pt")) == []


@pytest.mark.slow
def test_a_worker_killed_mid_run_is_resumed_by_the_next_sweep(real_dataset, folders) -> None:
    mnist = real_dataset("mnist")
    results, checkpoints = folders
    config = RunConfig("mnist", "ce", seed=1, epochs=6, train_subset=2000, train_eval_size=256)
    checkpoint = checkpoints / f"{config.key}.pt"
    worker = sweep_process(results, checkpoints, "--losses", "ce", "--epochs", "6", "--train-subset", "2000")
    deadline = time.time() + 300
    while not checkpoint.exists() and worker.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.communicate()
    assert checkpoint.exists(), "the worker ended before its first checkpoint"
    saved = torch.load(checkpoint, weights_only=False)["epochs"]
    assert 1 <= len(saved) < 6
    assert run_claims.claim_path(checkpoints, config.key).exists()  # the dead worker's claim is left behind
    [record] = train_sweep([config], ResultsStore(results), device="cpu", progress=False)
    assert [epoch["epoch"] for epoch in record["epochs"]] == [1, 2, 3, 4, 5, 6]
    assert record["epochs"][:len(saved)] == saved  # the epochs before the kill came from the checkpoint
    assert [event for event, _ in log_events(checkpoints)] == ["claimed", "took-over-from"]
    assert not checkpoint.exists() and not run_claims.claim_path(checkpoints, config.key).exists()
    del mnist


@pytest.mark.slow
def test_local_executor_sweeps_through_a_submitit_job_array(real_dataset, folders, tmp_path, capsys) -> None:
    real_dataset("mnist")
    results, checkpoints = folders
    argv = ["sweep", *TINY, "--losses", "ce,nce_rce", "--epochs", "1", "--results", str(results),
            "--executor", "local", "--runs-per-job", "1", "--jobs-folder", str(tmp_path / "jobs")]
    assert main(argv) == 0
    output = capsys.readouterr().out
    assert "submitted 2 jobs (local)" in output and "2 of 2 runs recorded" in output
    assert {record["config"]["loss"] for record in ResultsStore(results).records()} == {"ce", "nce_rce"}
    assert len(list((tmp_path / "jobs").glob("*_log.out"))) == 2
    assert main(argv) == 0 and "nothing to submit" in capsys.readouterr().out


def test_progress_tells_recorded_training_stopped_and_waiting_runs_apart(real_dataset, folders, capsys) -> None:
    real_dataset("mnist")
    results, checkpoints = folders
    store = ResultsStore(results)
    configs = [RunConfig("mnist", loss, epochs=2, train_subset=256, train_eval_size=256, precision="fp32")
               for loss in ("ce", "gce", "sce", "nce_rce")]
    train_sweep(configs[:1], store, device="cpu", progress=False)
    for config in configs[1:3]:  # two runs interrupted after their first epoch
        save_checkpoint(checkpoint_path(store, config.key), {"epochs": [{"epoch": 1, "test_acc": 0.5, "train_time_s": 50.0,
                                                                  "eval_time_s": 10.0}]})
    assert run_claims.acquire(checkpoints, configs[2].key)  # one of them is being trained by this process
    try:
        progress = [run_progress(config.key, 2, store) for config in configs]
    finally:
        run_claims.release(checkpoints, configs[2].key)
    assert [(run.state, run.epochs_done) for run in progress] == [
        ("recorded", 2), ("stopped", 1), ("training", 1), ("waiting", 0)]
    assert progress[2].worker == f"{socket.gethostname()}:{os.getpid()}" and progress[1].worker == ""
    assert progress[1].last_epoch["test_acc"] == 0.5 and progress[3].last_epoch is None
    assert [run.seconds_left for run in progress] == [None, 60.0, 60.0, None]  # one epoch left at 60 s
    assert main(["progress", "--grid", "cifar10-paper", "--results", str(results)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "cifar10-paper: 0 of 4 runs recorded" and all("waiting    0/120" in line for line in lines[1:])


@pytest.mark.parametrize("argv,message", [
    (["sweep", "--dataset", "mnist", "--losses", "ce", "--executor", "local", "--runs-per-job", "0"],
     "runs per job must be >= 1, got 0"),
    (["sweep", "--dataset", "mnist", "--losses", "ce", "--executor", "local", "--batched", "2"],
     "cannot be combined with --executor local"),
    (["sweep", "--dataset", "mnist", "--losses", "ce", "--executor", "pbs"], "invalid choice: 'pbs'"),
])
def test_bad_executor_options_are_one_line(argv, message, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--results", str(tmp_path)])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]
