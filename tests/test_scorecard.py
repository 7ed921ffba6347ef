"""The scorecard's statuses follow the records in the store, and the published numbers are set
beside the mean of the recorded seeds of the same loss and noise."""

from __future__ import annotations

import pytest

from anl import experiments, scorecard
from anl.results import ResultsStore
from anl.train import RunConfig
from records import classification_record

PAPER = [RunConfig("cifar10", "anl_ce", noise="sym:0.8", seed=seed, precision="bf16") for seed in (1, 2)]
REDUCED = [RunConfig("mnist", loss, noise="sym:0.8", epochs=30, train_subset=10_000) for loss in ("ce", "nce_rce")]
# the published cell's loss and noise, but not the published protocol or data set
OTHER_PROTOCOLS = [RunConfig("cifar10", "anl_ce", noise="sym:0.8", seed=3, epochs=40, precision="bf16"),
                   RunConfig("cifar10", "anl_ce", noise="sym:0.8", seed=4, lr=0.1, precision="bf16"),
                   RunConfig("mnist", "anl_ce", noise="sym:0.8")]


def record(config: RunConfig, accuracy: float = 0.5) -> dict:
    return classification_record(config, accuracy)


@pytest.fixture
def store(tmp_path, monkeypatch) -> ResultsStore:
    grids = {"paper": PAPER, "reduced": REDUCED, "other": OTHER_PROTOCOLS}
    monkeypatch.setattr(scorecard, "grid", lambda name: grids[name])
    return ResultsStore(tmp_path)


def test_status_counts_the_recorded_runs_of_each_grid(store) -> None:
    experiment = scorecard.Experiment("x", paper_grids=("paper",), other_grids=("reduced",), protocol="reduced")
    assert scorecard.status(experiment, store) == "planned: paper protocol, 0 of 2 runs; reduced, 0 of 2 runs"
    store.write(record(REDUCED[0]))
    assert scorecard.status(experiment, store) == "partial: paper protocol, 0 of 2 runs; reduced, 1 of 2 runs"
    only_er = scorecard.Experiment("x", other_grids=("reduced",), protocol="reduced", only_losses=("nce_rce",))
    assert scorecard.status(only_er, store) == "planned: reduced, 0 of 1 runs"
    for config in PAPER:
        store.write(record(config))
    assert scorecard.status(experiment, store) == "reproduced: paper protocol, 2 runs"


def test_experiments_without_runs_say_why(store) -> None:
    assert scorecard.status(scorecard.Experiment("x", numerical=True), store).startswith("reproduced (numerical")
    assert scorecard.status(scorecard.Experiment("x", reason="data: none"), store) == "not reproduced: data: none"


def test_published_numbers_stand_beside_the_mean_of_our_seeds(store) -> None:
    for config, accuracy in zip(PAPER + OTHER_PROTOCOLS, (0.60, 0.64, 0.10, 0.10, 0.10)):
        store.write(record(config, accuracy))
    table = scorecard.published_beside_ours(store, ["paper", "other"])
    row = table[(table.index == "ANL-CE") & (table["noise"] == "sym 0.8")].iloc[0]
    assert (row["published"], row["ours"], row["seeds"], row["ours − published"]) == ("62.28", "62.00", 2, "-0.28")
    untouched = table[(table.index == "CE") & (table["noise"] == "sym 0.8")].iloc[0]
    assert (untouched["ours"], untouched["seeds"]) == ("–", 0)


def test_every_experiment_names_grids_that_exist_or_a_reason() -> None:
    for experiment in scorecard.EXPERIMENTS:
        grids = experiment.paper_grids + experiment.other_grids
        assert bool(grids) != bool(experiment.reason or experiment.numerical), experiment.name
        for name in grids:
            assert experiments.grid(name), name
