"""Named grids: every run resolves, no run twice, the reduced protocol and the ER settings are as stated."""

from __future__ import annotations

import pytest

from anl.grids import GRIDS, REDUCED, grid


@pytest.mark.parametrize("name", sorted(GRIDS))
def test_every_grid_resolves_without_duplicates(name: str) -> None:
    runs = grid(name)
    keys = [run.key for run in runs]
    assert len(keys) == len(set(keys)) > 0


def test_reduced_benchmark_covers_issue_5() -> None:
    runs = [run.resolved() for run in grid("mnist-reduced")]
    assert all(run["train_subset"] == REDUCED["train_subset"] and run["epochs"] == REDUCED["epochs"] for run in runs)
    cells = {(run["loss"], run["noise"], run["seed"]) for run in runs}
    for loss in ("ce", "gce", "sce", "nce_mae", "nce_rce", "nce_agce", "anl_ce", "anl_fl"):
        for noise in ("clean", "sym:0.4", "sym:0.8", "asym:0.2", "asym:0.4"):
            assert {(loss, noise, 1), (loss, noise, 2)} <= cells
    er = [run for run in runs if run["loss"] == "anl_ce_er"]
    assert {run["noise"] for run in er} == {"asym:0.2", "asym:0.4"} and len(er) == 4
    assert all(run["loss_overrides"] == {"alpha": 1, "beta": 1, "delta": 1e-6, "lam": 2.0} for run in er)
    assert (runs[0]["loss"], runs[0]["noise"], runs[0]["seed"]) == ("ce", "sym:0.8", 1)


def test_ablation_grid_compares_l1_with_l2() -> None:
    runs = [run.resolved() for run in grid("mnist-ablations")]
    l2 = [run for run in runs if run["weight_decay"] > 0]
    assert {run["weight_decay"] for run in l2} == {1e-3, 1e-4}
    assert all(run["loss_overrides"]["delta"] == 0 and run["noise"] == "sym:0.8" for run in l2)
    # the preset delta (1e-6) is dropped from the overrides: that run shares the benchmark's key
    assert sorted(run["loss_overrides"].get("delta", 1e-6) for run in runs
                  if run["weight_decay"] == 0 and run["noise"] == "sym:0.8") == [0.0, 1e-6, 1e-5, 1e-4]
    assert {run.key for run in grid("mnist-ablations")} & {run.key for run in grid("mnist-reduced")}


def test_unknown_grid_names_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown grid 'x'; choose one of mnist-reduced"):
        grid("x")
