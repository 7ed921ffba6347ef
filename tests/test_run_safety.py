"""Nothing lost and nothing silently wrong while training: checkpoints and claims belong to their
results store, every way of training a run claims it, an unreadable claim is judged by its age, a
run resumed after a code change names every code version, and a NaN objective stops a run."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest
import torch

from anl import engine, run_claims
from anl.batched import train_batched
from anl.cli import main
from anl.results import ResultsStore
from anl.train import RunConfig, train_run


@pytest.fixture(autouse=True)
def checkpoints_beside_their_store(monkeypatch):
    monkeypatch.delenv("ANL_CHECKPOINTS", raising=False)


@pytest.fixture(scope="module")
def mnist(real_dataset):
    return real_dataset("mnist")


def tiny(loss: str = "ce", epochs: int = 3, **fields) -> RunConfig:
    return RunConfig("mnist", loss, noise="sym:0.4", seed=1, epochs=epochs, train_subset=256, train_eval_size=128,
                     **fields)


def stop_after(last: int):
    def callback(epoch: int, metrics) -> None:
        if epoch == last:
            raise KeyboardInterrupt
    return callback


@pytest.mark.slow
def test_a_run_of_the_same_config_in_another_store_leaves_the_first_stores_checkpoint(mnist, tmp_path) -> None:
    """Interrupted in store A, trained to the end in store B: A's checkpoint is untouched and A's
    rerun resumes from it, losing no epoch; with ANL_CHECKPOINTS the stores get separate folders."""
    config = tiny()
    first, second = ResultsStore(tmp_path / "a"), ResultsStore(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        train_run(config, first, dataset=mnist, device="cpu", progress=False, on_epoch_end=stop_after(2))
    saved = engine.checkpoint_path(first, config.key)
    assert saved.is_file() and saved.parent == tmp_path / "a" / "checkpoints"
    train_run(config, second, dataset=mnist, device="cpu", progress=False)
    assert second.has(config.key) and saved.is_file() and not first.has(config.key)
    resumed = []
    train_run(config, first, dataset=mnist, device="cpu", progress=False,
              on_epoch_end=lambda epoch, metrics: resumed.append(epoch))
    assert resumed == [3] and first.read(config.key)["summary"] == second.read(config.key)["summary"]


def test_anl_checkpoints_gives_each_store_its_own_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ANL_CHECKPOINTS", str(tmp_path / "fast"))
    folders = {engine.checkpoint_dir(ResultsStore(tmp_path / name)) for name in ("a", "b", "a/../a")}
    assert len(folders) == 2 and all(folder.parent == tmp_path / "fast" for folder in folders)


def claim_of_another_live_process(store: ResultsStore, key: str) -> None:
    """A fresh claim on ``key`` in ``store`` held by a process of this host that is alive (pid 1)."""
    folder = engine.checkpoint_dir(store)
    folder.mkdir(parents=True, exist_ok=True)
    owner = {"host": socket.gethostname(), "pid": 1, "token": "other", "claimed": "now"}
    run_claims.claim_path(folder, key).write_text(json.dumps(owner))


@pytest.mark.slow
def test_every_way_of_training_a_run_claims_it(mnist, tmp_path, capsys) -> None:
    store = ResultsStore(tmp_path)
    config = tiny(epochs=1)
    claim_of_another_live_process(store, config.key)
    with pytest.raises(engine.RunClaimedError, match="another worker .*:1, claim"):
        train_run(config, store, dataset=mnist, device="cpu", progress=False)
    with pytest.raises(engine.RunClaimedError):
        train_batched([config, tiny("gce", epochs=1)], store, dataset=mnist, device="cpu", progress=False)
    assert not store.has(tiny("gce", epochs=1).key)  # nothing of the batch trained
    argv = ["run", "--dataset", "mnist", "--loss", "ce", "--noise", "sym:0.4", "--epochs", "1", "--train-subset", "256",
            "--train-eval-size", "128", "--precision", "fp32", "--device", "cpu", "--results", str(tmp_path),
            "--no-progress"]
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2 and "being trained by another worker" in capsys.readouterr().err
    run_claims.claim_path(engine.checkpoint_dir(store), config.key).unlink()
    assert main(argv) == 0 and store.has(config.key)
    assert list(engine.checkpoint_dir(store).glob("*.claim")) == []  # released


def test_an_unreadable_claim_is_taken_over_once_stale_and_respected_while_fresh(tmp_path, monkeypatch) -> None:
    """A worker killed between creating its claim and writing it leaves an empty file."""
    monkeypatch.setenv("ANL_CLAIM_STALE_S", "60")
    path = run_claims.claim_path(tmp_path, "k")
    path.write_text("")
    assert not run_claims.acquire(tmp_path, "k")  # fresh: perhaps being written right now
    old = time.time() - 120
    os.utime(path, (old, old))
    assert run_claims.acquire(tmp_path, "k")
    assert json.loads(path.read_text())["pid"] == os.getpid()
    run_claims.release(tmp_path, "k")


@pytest.mark.slow
def test_a_run_resumed_after_a_code_change_records_each_version_with_its_epochs(mnist, tmp_path, monkeypatch) -> None:
    store = ResultsStore(tmp_path)
    config = tiny()
    monkeypatch.setattr(engine, "code_version",
                        lambda: {"git_sha": "a" * 40, "git_dirty": False, "code_version_source": "git"})
    with pytest.raises(KeyboardInterrupt):
        train_run(config, store, dataset=mnist, device="cpu", progress=False, on_epoch_end=stop_after(2))
    saved = engine.load_checkpoint(engine.checkpoint_path(store, config.key))["code_versions"]
    assert [(span["git_sha"], span["first_epoch"], span["last_epoch"]) for span in saved] == [("a" * 40, 1, 2)]
    monkeypatch.undo()
    record = train_run(config, store, dataset=mnist, device="cpu", progress=False)
    spans = record["provenance"]["code_versions"]
    assert [(span["git_sha"], span["first_epoch"], span["last_epoch"]) for span in spans] == [
        ("a" * 40, 1, 2), (record["provenance"]["git_sha"], 3, 3)]
    straight = train_run(tiny("gce", epochs=1), store, dataset=mnist, device="cpu", progress=False)
    assert "code_versions" not in straight["provenance"]  # one version: the record's own


@pytest.mark.slow
def test_a_checkpoint_without_code_versions_resumes_as_unknown_code(mnist, tmp_path) -> None:
    store = ResultsStore(tmp_path)
    config = tiny(epochs=2)
    with pytest.raises(KeyboardInterrupt):
        train_run(config, store, dataset=mnist, device="cpu", progress=False, on_epoch_end=stop_after(1))
    path = engine.checkpoint_path(store, config.key)
    state = engine.load_checkpoint(path)
    del state["code_versions"]
    torch.save(state, path)
    spans = train_run(config, store, dataset=mnist, device="cpu", progress=False)["provenance"]["code_versions"]
    assert [(span["git_sha"], span["first_epoch"], span["last_epoch"]) for span in spans][0] == ("unknown", 1, 1)
    assert spans[1]["first_epoch"] == spans[1]["last_epoch"] == 2


@pytest.mark.slow
def test_a_nan_objective_stops_the_run_unrecorded(mnist, tmp_path, capsys) -> None:
    store = ResultsStore(tmp_path)
    config = tiny(epochs=2, lr=float("inf"))
    with pytest.raises(engine.NonFiniteObjectiveError, match="epoch 1"):
        train_run(config, store, dataset=mnist, device="cpu", progress=False)
    assert not store.has(config.key) and not engine.checkpoint_path(store, config.key).exists()
    argv = ["run", "--dataset", "mnist", "--loss", "ce", "--noise", "sym:0.4", "--epochs", "1", "--train-subset", "256",
            "--train-eval-size", "128", "--precision", "fp32", "--device", "cpu", "--results", str(tmp_path),
            "--no-progress", "--weight-decay", "inf"]
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2 and "the training objective is nan in epoch 1" in capsys.readouterr().err
    assert store.paths() == []
