"""Tuning a loss on a held-out validation split (anl.tune, ``python -m anl tune``): the search
space from the registry, the split (disjoint, stratified, seeded, clean or noisy labels), the
command end to end on a small MNIST with every trial a recorded run, a rerun that trains nothing
twice, and one line for every bad input."""

from __future__ import annotations

import dataclasses
import json
import sys

import numpy as np
import pytest
import torch
from torch import nn

from anl import experiments, losses, noise, report, train
from anl import tune as tuning
from anl.cli import main
from anl.data import stratified_subset
from anl.engine import SUBSET_SEED, checkpoint_path
from anl.results import ResultsStore
from anl.train import RunConfig, prepare_data, validation_split

optuna = pytest.importorskip("optuna")

TINY = ["--dataset", "mnist", "--train-subset", "300", "--train-eval-size", "50", "--epochs", "2", "--device", "cpu",
        "--precision", "fp32", "--no-progress"]
TUNE = ["tune", *TINY, "--loss", "nce_rce", "--noise", "sym:0.4", "--validation", "clean", "--fraction", "0.2"]
BASE = RunConfig("mnist", "nce_rce", noise="sym:0.4", epochs=2, train_subset=300, train_eval_size=50,
                 precision="fp32", validation_fraction=0.2, validation="clean")


@pytest.fixture(scope="module")
def small_mnist(real_dataset):
    """MNIST with its test set cut to 500 images (each epoch scores the test set)."""
    mnist = real_dataset("mnist")
    return dataclasses.replace(mnist, test_images=mnist.test_images[:500].contiguous(),
                               test_labels=mnist.test_labels[:500].contiguous())


@pytest.fixture
def epochs_trained(monkeypatch) -> list[int]:
    """Counts the training epochs run (one entry per epoch)."""
    counted: list[int] = []
    real = train.train_epoch

    def counting(*args, **kwargs):
        counted.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(train, "train_epoch", counting)
    return counted


def ranges(space: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """The space rounded to 12 significant digits (preset / 10 is not exact in binary)."""
    return {name: tuple(float(f"{bound:.12g}") for bound in bounds) for name, bounds in space.items()}


def test_search_space_is_log_uniform_over_a_decade_each_side_of_the_preset():
    assert ranges(losses.search_space("anl_ce", "cifar10")) == {
        "alpha": (0.5, 50.0), "beta": (0.5, 50.0), "delta": (5e-6, 5e-4)}
    assert ranges(losses.search_space("NCE+RCE", "mnist")) == {"alpha": (0.1, 10.0), "beta": (1.0, 100.0)}
    assert ranges(losses.search_space("nce_agce", "mnist")) == {"beta": (0.1, 10.0)}  # its alpha is 0: off
    assert ranges(losses.search_space("ce_eps_mae", "cifar10", "asym")) == {"alpha": (0.002, 0.2), "beta": (0.5, 50.0)}
    assert "ce" not in losses.TUNABLE_LOSSES and {"anl_ce", "nce_rce", "sce"} <= set(losses.TUNABLE_LOSSES)
    with pytest.raises(ValueError, match=r"^CE has no tunable hyperparameters; tunable losses: sce, nce_mae"):
        losses.search_space("ce", "mnist")
    with pytest.raises(ValueError, match="no published preset for JAL-CE on mnist"):
        losses.search_space("jal_ce", "mnist")


def test_the_using_page_table_states_the_space_of_every_tunable_loss():
    table = report.search_space_table().map(report.plain)
    assert list(table.index) == [losses.display_name(loss) for loss in losses.TUNABLE_LOSSES]
    assert list(table.columns) == ["MNIST", "Fashion-MNIST", "CIFAR-10", "CIFAR-100"]
    assert table.loc["ANL-CE", "MNIST"] == "α 0.1–10, β 0.1–10, δ 1e-07–1e-05"
    assert table.loc["NCE+AGCE", "MNIST"] == "β 0.1–10" and table.loc["JAL-CE", "MNIST"] == "-"
    assert table.loc["CEε+MAE", "CIFAR-10"].startswith("sym: α 0.001–0.1, β 0.5–50; asym: α 0.002–0.2")


def test_a_run_without_a_split_keeps_its_key_and_a_split_is_checked():
    plain = RunConfig("mnist", "ce")
    assert not {"validation_fraction", "validation", "validation_seed"} & set(plain.resolved())
    held_out = dataclasses.replace(plain, validation_fraction=0.1, validation="noisy")
    assert {name: held_out.resolved()[name] for name in ("validation_fraction", "validation", "validation_seed")} == {
        "validation_fraction": 0.1, "validation": "noisy", "validation_seed": 42}
    keys = {plain.key, held_out.key, dataclasses.replace(held_out, validation="clean").key,
            dataclasses.replace(held_out, validation_seed=7).key}
    assert len(keys) == 4
    for config, message in [(dataclasses.replace(plain, validation="clean"), r"validation='clean'.*validation_frac"),
                            (dataclasses.replace(held_out, validation="none"), r"validation='none'.*clean, noisy"),
                            (dataclasses.replace(held_out, validation_fraction=1.0), r"fraction=1.0.*\(0, 1\)"),
                            (dataclasses.replace(held_out, validation_fraction=0), r"fraction=0.*\(0, 1\)")]:
        with pytest.raises(ValueError, match=message):
            config.resolved()
    with pytest.raises(ValueError, match="holds out 0; both the validation split and the training part"):
        validation_split(torch.arange(10) % 2, 0.01, 42)


def test_the_split_is_disjoint_stratified_seeded_and_clean_or_noisy(small_mnist):
    labels = small_mnist.train_labels
    index = stratified_subset(labels, 300, seed=SUBSET_SEED).numpy()
    held = validation_split(labels[index], 0.2, 42)
    assert len(held) == 60 and np.array_equal(held, validation_split(labels[index], 0.2, 42))
    assert not np.array_equal(held, validation_split(labels[index], 0.2, 7))
    per_class = np.bincount(labels[index][held].numpy(), minlength=10)
    assert per_class.sum() == 60 and per_class.max() - per_class.min() <= 2  # 20 % of each class, +-1

    spec = "sym:0.4"
    noisy_full = noise.apply_noise(spec, labels.numpy(), dataset="mnist", num_classes=10, seed=1,
                                   images=small_mnist.train_images)
    train_part, val_part = np.setdiff1d(index, index[held]), index[held]
    for validation, expected in (("clean", labels.numpy()), ("noisy", noisy_full.noisy)):
        config = dataclasses.replace(BASE, validation=validation).resolved()
        data = prepare_data(config, small_mnist, torch.device("cpu"))
        assert torch.equal(data.images, small_mnist.train_images[train_part])
        assert torch.equal(data.val_images, small_mnist.train_images[val_part])
        assert np.array_equal(data.val_labels.numpy(), expected[val_part])
        assert np.array_equal(data.labels.numpy(), noisy_full.noisy[train_part])  # trains on the noisy labels
        assert len(data.noisy.clean) == 240
    assert (noisy_full.noisy[val_part] != labels.numpy()[val_part]).mean() == pytest.approx(0.4, abs=0.15)


class ConstantClass(nn.Module):
    """Logits that always pick ``label``."""

    def __init__(self, label: int) -> None:
        super().__init__()
        self.label = label

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return nn.functional.one_hot(torch.full((len(images),), self.label), 10).float()


@pytest.mark.parametrize("validation", ["clean", "noisy"])
def test_val_acc_scores_the_held_out_images_against_their_labels(small_mnist, validation):
    config = dataclasses.replace(BASE, validation=validation).resolved()
    data = prepare_data(config, small_mnist, torch.device("cpu"))
    objective = losses.build("nce_rce", "mnist")
    for label in (1, 7):
        expected = (data.val_labels == label).double().mean().item()
        assert train.evaluate(ConstantClass(label), data, objective, amp=False)["val_acc"] == pytest.approx(expected)


def read_output(capsys) -> tuple[list[str], dict]:
    lines = capsys.readouterr().out.strip().splitlines()
    return lines[:-1], json.loads(lines[-1])


@pytest.mark.slow
def test_tune_runs_records_every_trial_and_a_rerun_trains_only_the_missing(tmp_path, capsys, monkeypatch,
                                                                            small_mnist, epochs_trained):
    monkeypatch.setattr(tuning, "load_dataset", lambda name: small_mnist)
    results = ["--results", str(tmp_path)]
    assert main([*TUNE, "--trials", "2", *results]) == 0
    lines, best = read_output(capsys)
    assert [line.split(":")[0] for line in lines] == ["trial 1/2", "trial 2/2"]
    assert best["finished_trials"] == 2 and best["trained"] == 2 and len(epochs_trained) == 4
    store = ResultsStore(tmp_path)
    records = {path.stem: store.read(path.stem) for path in store.paths()}
    assert len(records) == 2 and best["key"] in records
    for record in records.values():
        assert {name: record["config"][name] for name in ("validation_fraction", "validation", "validation_seed")} == {
            "validation_fraction": 0.2, "validation": "clean", "validation_seed": 42}
        assert record["noise"]["train_size"] == 240 and [epoch["epoch"] for epoch in record["epochs"]] == [1, 2]
        assert set(record["config"]["loss_overrides"]) == {"alpha", "beta"}
    assert best["val_acc"] == max(record["epochs"][-1]["val_acc"] for record in records.values())
    assert best["best"] == records[best["key"]]["config"]["loss_overrides"]
    for name, (low, high) in losses.search_space("nce_rce", "mnist").items():
        assert all(low <= record["config"]["loss_overrides"][name] <= high for record in records.values())
    study = json.loads((tmp_path / "tuning" / best["study"].rsplit("/", 1)[-1]).with_suffix(".json").read_text())
    assert sorted(trial["key"] for trial in study["trials"]) == sorted(records)
    assert study["best"] == {"params": best["best"], "val_acc": best["val_acc"], "key": best["key"]}

    assert main([*TUNE, "--trials", "3", *results]) == 0
    lines, more = read_output(capsys)
    assert [line.split(":")[0] for line in lines] == ["trial 3/3"] and more["study"] == best["study"]
    assert more["finished_trials"] == 3 and more["trained"] == 1 and len(epochs_trained) == 6
    assert len(store.paths()) == 3
    written = {path.name: path.stat().st_mtime_ns for path in store.paths()}

    assert main([*TUNE, "--trials", "3", *results]) == 0
    lines, again = read_output(capsys)
    assert lines == [] and again["trained"] == 0 and len(epochs_trained) == 6
    assert {path.name: path.stat().st_mtime_ns for path in store.paths()} == written
    assert again["best"] == more["best"] and again["val_acc"] == more["val_acc"]


@pytest.mark.slow
def test_an_interrupted_trial_is_tried_again_and_resumes_from_its_checkpoint(tmp_path, monkeypatch, small_mnist,
                                                                            epochs_trained):
    store = ResultsStore(tmp_path)
    real = tuning.train_run
    calls = []

    def interrupted_second(config, store, **kwargs):
        calls.append(config.key)
        if len(calls) == 2:
            def stop(epoch, metrics):
                raise KeyboardInterrupt
            kwargs["on_epoch_end"] = stop
        return real(config, store, **kwargs)

    monkeypatch.setattr(tuning, "train_run", interrupted_second)
    with pytest.raises(KeyboardInterrupt):
        tuning.tune(BASE, store, 2, dataset=small_mnist, device="cpu", progress=False, log=lambda line: None)
    assert len(store.paths()) == 1 and checkpoint_path(store, calls[1]).is_file() and len(epochs_trained) == 3

    monkeypatch.setattr(tuning, "train_run", real)
    result = tuning.tune(BASE, store, 2, dataset=small_mnist, device="cpu", progress=False, log=lambda line: None)
    assert result.finished == 2 and result.trained == 1
    assert len(epochs_trained) == 4  # the interrupted run trained its second epoch only
    assert sorted(path.stem for path in store.paths()) == sorted(calls)
    assert not checkpoint_path(store, calls[1]).exists()


class AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial) -> bool:
        return True


@pytest.mark.slow
def test_a_pruned_trial_stops_before_its_last_epoch_unrecorded_and_counts_as_finished(tmp_path, monkeypatch,
                                                                                      small_mnist, epochs_trained):
    monkeypatch.setattr(optuna.pruners, "MedianPruner", lambda **_: AlwaysPrune())
    store = ResultsStore(tmp_path)
    lines = []
    result = tuning.tune(BASE, store, 1, dataset=small_mnist, device="cpu", progress=False, log=lines.append)
    assert result.finished == 1 and result.best_params is None and len(epochs_trained) == 1
    assert store.paths() == [] and "pruned at epoch 1" in lines[0]
    key = lines[0].rsplit("run ", 1)[1].rstrip(")")
    assert not checkpoint_path(store, key).exists()


@pytest.fixture
def no_training(monkeypatch):
    def refuse(*_, **__):
        pytest.fail("trained or loaded data despite bad input")
    monkeypatch.setattr(tuning, "train_run", refuse)
    monkeypatch.setattr(tuning, "load_dataset", refuse)


def error_line(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize("change, message", [
    (["--loss", "foo"], "error: unknown loss 'foo'; valid: ce, fl,"),
    (["--loss", "ce"], "error: CE has no tunable hyperparameters; tunable losses: sce, nce_mae,"),
    (["--fraction", "1.5"], "error: invalid validation_fraction=1.5: must lie in (0, 1)"),
    (["--fraction", "0"], "error: invalid validation_fraction=0.0: must lie in (0, 1)"),
    (["--trials", "0"], "error: invalid trials=0: must be an integer >= 1"),
    (["--validation", "dirty"], "error: argument --validation: invalid choice: 'dirty' (choose from "),
    (["--noise", "gauss:0.2"], "error: unknown noise kind 'gauss' in 'gauss:0.2'; choose one of"),
    (["--noise", "sym:1.5"], "error: sym noise rate must lie in [0, 1), got 1.5"),
    (["--set", "alpha=2"], "error: alpha is tuned; overrides may fix only the other hyperparameters of NCE+RCE"),
])
def test_each_bad_input_gives_one_line(change, message, tmp_path, capsys, no_training):
    line = error_line(capsys, [*TUNE, "--trials", "2", "--results", str(tmp_path), *change])  # the last value wins
    assert line.startswith("python -m anl tune: error: ") and message in line
    assert not (tmp_path / "tuning").exists()


def test_missing_optuna_names_the_extra(monkeypatch, tmp_path, capsys, no_training):
    monkeypatch.setitem(sys.modules, "optuna", None)
    line = error_line(capsys, [*TUNE, "--trials", "1", "--results", str(tmp_path)])
    assert "tuning needs optuna, the extra 'tune': pip install '.[tune]'" in line


@pytest.mark.slow
def test_a_study_searches_then_trains_each_chosen_setting_at_the_paper_protocol(tmp_path, monkeypatch, small_mnist):
    searches = [experiments.TuningStudy(dataclasses.replace(BASE, epochs=1, validation=validation), 2)
                for validation in ("clean", "noisy")]
    monkeypatch.setitem(experiments.STUDIES, "tiny", lambda: searches)
    monkeypatch.setattr(experiments, "load_dataset", lambda name: small_mnist)
    trained: list[RunConfig] = []
    monkeypatch.setattr(experiments, "train_configs", lambda configs, store, **_: trained.extend(configs) or [])
    store = ResultsStore(tmp_path)
    lines: list[str] = []
    experiments.run_study("tiny", store, progress=False, log=lines.append)
    assert sum(line.startswith("trial ") for line in lines) == 4 and len(store.paths()) == 4
    best = [tuning.read_summary(search.base, store)["best"]["params"] for search in searches]
    assert all(best) and len(trained) == 3 * len({json.dumps(params, sort_keys=True) for params in best})
    for config in trained:
        resolved = config.resolved()
        assert config.loss_overrides in best and config.seed in experiments.TUNED_SEEDS
        assert resolved["train_subset"] is None and resolved["epochs"] == 50 and "validation_fraction" not in resolved
        assert (config.dataset, config.loss, config.noise) == ("mnist", "nce_rce", "sym:0.4")
    assert len({config.key for config in trained}) == len(trained)


def test_a_search_short_of_its_trials_has_no_chosen_setting_yet(tmp_path, monkeypatch):
    search = experiments.TuningStudy(BASE, 3)
    path = tuning.summary_path(BASE, ResultsStore(tmp_path))
    path.parent.mkdir(parents=True)
    summary = {"finished": 2, "best": {"params": {"alpha": 2.0, "beta": 5.0}, "val_acc": 0.9, "key": "k"}}
    path.write_text(json.dumps(summary))
    monkeypatch.setitem(experiments.STUDIES, "tiny", lambda: [search])
    assert experiments.tuned_configs("tiny", ResultsStore(tmp_path)) == []
    path.write_text(json.dumps({**summary, "finished": 3}))
    assert [config.loss_overrides for config in experiments.tuned_configs("tiny", ResultsStore(tmp_path))] == [
        {"alpha": 2.0, "beta": 5.0}] * len(experiments.TUNED_SEEDS)


def test_an_unknown_study_names_the_studies(tmp_path, capsys):
    line = error_line(capsys, ["study", "nope", "--results", str(tmp_path)])
    assert line == "python -m anl study: error: unknown study 'nope'; choose one of mnist-tuning"
