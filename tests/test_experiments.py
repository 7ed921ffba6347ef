"""Named grids (anl.experiments): every run resolves, no run twice, the reduced protocol and the ER settings are as stated."""

from __future__ import annotations

import pytest

from anl.experiments import (GRIDS, REDUCED_CLASSIFICATION as REDUCED, ablation_configs, grid, product, run_config,
                             segmentation_protocol)
from anl.pages import book_grids
from anl.report.published import PUBLISHED
from anl.segmentation import SegmentationConfig
from anl.train import RunConfig


@pytest.mark.parametrize("name", sorted(GRIDS))
def test_every_grid_resolves_without_duplicates(name: str) -> None:
    runs = grid(name)
    keys = [run.key for run in runs]
    assert len(keys) == len(set(keys)) > 0


def test_reduced_benchmark_covers_every_loss_and_noise_at_two_seeds() -> None:
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


def test_every_published_cifar10_number_has_a_paper_protocol_run_in_a_book_grid() -> None:
    runs = {(config.loss, config.noise) for name in book_grids() for config in grid(name)
            if config.dataset == "cifar10" and config.epochs is None}
    assert set(PUBLISHED) <= runs, sorted(set(PUBLISHED) - runs)


def test_cifar10_grids_start_with_anl_ce_and_nce_rce_in_the_fallback_order() -> None:
    # a budget that affords only ANL-CE and NCE+RCE at asym 0.4, sym 0.4, IDN 0.4 (the fixed labels
    # of the published numbers, then the generator) and CIFAR-10N worst (in that order) trains the
    # first runs of each grid
    first = [grid("cifar10-table")[:4], grid("cifar10-idn")[:4], grid("cifar10n")[:2]]
    assert [(config.noise, config.loss) for runs in first for config in runs] == [
        (noise, loss) for noise in ("asym:0.4", "sym:0.4", "idn-file:0.4", "idn:0.4", "cifar10n:worst")
        for loss in ("anl_ce", "nce_rce")]
    assert all(config.precision == "bf16" and config.seed == 1 and config.epochs is None
               for config in grid("cifar10-idn"))


def test_unknown_grid_names_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown grid 'x'; choose one of mnist-reduced"):
        grid("x")


def test_run_config_overrides_as_floats_and_lambda_alias():
    er = run_config("mnist", "ANL-CE-ER", "asym:0.4", 1, epochs=2,
                    loss_overrides={"alpha": 1, "beta": 1, "delta": 1e-6, "lambda": 2})
    assert er.loss == "anl_ce_er"
    assert er.loss_overrides == {"alpha": 1.0, "beta": 1.0, "delta": 1e-6, "lam": 2.0}
    assert all(type(value) is float for value in er.loss_overrides.values())
    assert er.resolved()["loss_overrides"]["lam"] == 2.0


def test_run_key_ignores_how_overrides_are_spelled():
    plain = RunConfig(dataset="mnist", loss="anl_ce", noise="sym:0.8", epochs=2, train_subset=100)
    restated = RunConfig(dataset="mnist", loss="anl_ce", noise="sym:0.8", epochs=2, train_subset=100,
                         loss_overrides={"alpha": 1, "delta": 1e-6}, weight_decay=0)
    assert restated.key == plain.key  # the same experiment: one record
    base = {"dataset": "mnist", "loss": "anl_ce", "noise": "sym:0.8", "epochs": 2, "train_subset": 100}
    changed = [RunConfig(**{**base, **change})
               for change in ({"loss_overrides": {"beta": 2}}, {"weight_decay": 1e-3}, {"seed": 2}, {"epochs": 3})]
    keys = {config.key for config in [plain, *changed]}
    assert len(keys) == 5


def test_product_completes_one_seed_before_the_next():
    runs = product("mnist", ["ce", "anl_ce"], ["clean", "sym:0.4"], [1, 2], epochs=3, train_subset=50)
    assert [(c.loss, c.noise, c.seed) for c in runs[:3]] == [("ce", "clean", 1), ("anl_ce", "clean", 1),
                                                              ("ce", "sym:0.4", 1)]
    assert len(runs) == 8 and len({c.key for c in runs}) == 8
    masks = product("isic2017", ["dice"], ["clean"], [1], **segmentation_protocol("reduced"))
    assert isinstance(masks[0], SegmentationConfig) and tuple(masks[0].size) == (64, 48)


def test_ablation_configs_by_section():
    sections = ablation_configs(
        "mnist", [1, 2], epochs=3, train_subset=100, high_noise="sym:0.8", l2_weight_decays=[1e-3], deltas=[0, 1e-5],
        sensitivity_noise="sym:0.6", alphas=[1, 2], betas=[0.5], er_noise="asym:0.4", lambdas=[0, 2])
    regulariser = sections["regulariser"]
    assert [setting for setting, _ in regulariser] == ["L1, delta 1e-06"] * 2 + ["L2, weight decay 0.001"] * 2 + \
        ["neither"] * 2
    assert [config.seed for _, config in regulariser] == [1, 2] * 3
    plain = product("mnist", ["anl_ce"], ["sym:0.8"], [1], epochs=3, train_subset=100)[0]
    assert regulariser[0][1].key == plain.key
    l2 = regulariser[2][1].resolved()
    assert (l2["weight_decay"], l2["loss_overrides"]["delta"], l2["noise"]) == (1e-3, 0.0, "sym:0.8")
    assert regulariser[4][1].resolved()["weight_decay"] == 0.0
    pairs = sections["alpha_beta"]
    assert [setting for setting, _ in pairs] == [(1, 0.5), (1, 0.5), (2, 0.5), (2, 0.5)]
    assert {config.noise for _, config in pairs} == {"sym:0.6"}
    assert pairs[2][1].loss_overrides == {"alpha": 2.0, "beta": 0.5, "delta": 1e-6}
    assert [setting for setting, _ in sections["delta"]] == [0, 0, 1e-5, 1e-5]
    er = sections["lambda"][2][1]
    assert (er.loss, er.noise, er.loss_overrides["lam"]) == ("anl_ce_er", "asym:0.4", 2.0)


def test_ablation_configs_sections_left_empty():
    only = ablation_configs("mnist", [1], epochs=3, train_subset=100, high_noise="sym:0.8", l2_weight_decays=[1e-3])
    assert [setting for setting, _ in only["regulariser"]] == ["L1, delta 1e-06", "L2, weight decay 0.001", "neither"]
    assert only["alpha_beta"] == only["delta"] == only["lambda"] == []
    with pytest.raises(ValueError, match="the lambda sweep needs er_noise"):
        ablation_configs("mnist", [1], epochs=3, train_subset=100, high_noise="sym:0.8", l2_weight_decays=[],
                                lambdas=[2.0])
    with pytest.raises(ValueError, match="the alpha/beta grid needs sensitivity_noise"):
        ablation_configs("mnist", [1], epochs=3, train_subset=100, high_noise="sym:0.8", l2_weight_decays=[],
                                alphas=[1.0], betas=[1.0])


def test_the_gpu_queue_trains_the_fidelity_runs_then_seeds_then_the_newest_then_the_rest() -> None:
    queue = grid("gpu-queue")
    cells = [(config.loss, config.noise, config.seed) for config in queue]
    assert cells[:5] == [("ce", "clean", 1), ("anl_ce", "clean", 1), ("anl_ce", "idn-file:0.4", 1),
                         ("nce_rce", "idn-file:0.4", 1), ("anl_fl", "cifar10n:worst", 1)]
    assert sorted(cells[5:13]) == sorted((loss, "sym:0.8", seed) for seed in (2, 3)
                                         for loss in ("ce", "nce_rce", "anl_ce", "anl_fl"))
    assert [cell[2] for cell in cells[5:13]] == [2] * 4 + [3] * 4  # one complete seed before the next
    newest = [config.key for config in grid("cifar10-newest")]
    assert [config.key for config in queue[13:13 + len(newest)]] == newest
    seeds = cells[13 + len(newest):21 + len(newest)]
    assert sorted(seeds) == sorted((loss, noise, seed) for loss in ("anl_ce", "nce_rce")
                                   for noise in ("sym:0.4", "asym:0.4") for seed in (2, 3))
    keys = [config.key for config in queue]
    assert len(keys) == len(set(keys))
    book = {config.key for name in book_grids() for config in grid(name) if config.dataset == "cifar10"}
    assert book <= set(keys) and all(config.dataset == "cifar10" and config.epochs in (None, 40) for config in queue)
    # every run at the paper's protocol in bf16 but cifar10-short's 40 epochs
    assert all(config.precision == "bf16" and config.resolved()["model"] == "cnn8" for config in queue)
