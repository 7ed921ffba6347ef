"""anl.report: run selection by key, the protocol sentence drawn from records, accuracy tables and
the published numbers. Records here are written by hand (no training)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from anl import detection, experiments, losses, report
from anl.segmentation import SegmentationConfig
from anl.results import ResultsStore
from anl.train import AUGMENTATIONS, RunConfig
from records import classification_record, segmentation_record


# ----------------------------------------------------------------------------- names
def test_noise_label_and_rate():
    assert report.noise_label("sym:0.4") == "sym 0.4"
    assert report.noise_label("clean") == "clean"
    assert report.noise_kind_label("asym:0.2") == "asymmetric"
    assert report.noise_kind_label("cifar10n:worst") == "CIFAR-10N human"
    assert report.nominal_rate("clean") == 0.0
    assert report.nominal_rate("asym:0.3") == 0.3
    with pytest.raises(ValueError, match="no numeric rate"):
        report.nominal_rate("cifar10n:worst")


def test_dataset_label_marks_the_jpeg_copy():
    assert report.dataset_label("mnist") == "MNIST"
    assert report.dataset_label("cifar10", "/x/cifar10-jpeg.tar.gz (JPEG q75 copy of CIFAR-10)") == \
        "CIFAR-10 (JPEG q75 copy)"
    assert report.dataset_label("cifar10", "/x/cifar-10-batches-py (python pickles)") == "CIFAR-10"


def test_class_names():
    assert report.class_names("cifar10")[:2] == ["plane", "car"]
    assert report.class_names("mnist") == [str(digit) for digit in range(10)]
    with pytest.raises(ValueError, match="valid: mnist"):
        report.class_names("imagenet")


# ----------------------------------------------------------------------------- records
def fake_record(config: RunConfig, final: float, *, sha: str = "0123456789abcdef", source: str = "/d/mnist (IDX)",
                wall: float = 1800.0) -> dict:
    return classification_record(config, final, sha=sha, source=source, wall=wall)


@pytest.fixture
def store(tmp_path):
    return ResultsStore(tmp_path)


def test_load_runs_selects_exactly_the_requested_runs_in_order(store):
    wanted = experiments.product("mnist", ["ce", "anl_ce"], ["sym:0.4"], [1, 2], epochs=3, train_subset=10_000)
    other = RunConfig(dataset="mnist", loss="ce", noise="sym:0.4", seed=1, epochs=4, train_subset=10_000)
    for index, config in enumerate([*wanted, other]):
        store.write(fake_record(config, 0.5 + index / 100))
    runs = report.load_runs(list(reversed(wanted)), store.root, train=False)
    assert list(runs.summaries["key"]) == [c.key for c in reversed(wanted)]
    assert other.key not in set(runs.epochs["key"])
    assert (runs.summaries["train_size"] == 10_000).all() and (runs.epochs["train_size"] == 10_000).all()
    assert len(runs.epochs) == 3 * len(wanted)
    assert [r["key"] for r in runs.records] == [c.key for c in reversed(wanted)]
    assert runs.epochs.groupby("key")["epoch"].apply(list).map(lambda e: e == [1, 2, 3]).all()


def test_load_runs_finds_a_run_recorded_under_other_spelled_overrides(store):
    restated = RunConfig(dataset="mnist", loss="anl_ce", noise="sym:0.8", epochs=3, train_subset=100,
                         loss_overrides={"delta": 1e-6})
    store.write(fake_record(restated, 0.7))
    plain = experiments.product("mnist", ["anl_ce"], ["sym:0.8"], [1], epochs=3, train_subset=100)
    runs = report.load_runs(plain + plain, store.root, train=False)
    assert list(runs.summaries["key"]) == [restated.key]


def test_load_runs_without_training_names_the_missing_runs(store):
    configs = experiments.product("mnist", ["ce"], ["clean", "sym:0.4"], [1], epochs=3, train_subset=100)
    store.write(fake_record(configs[0], 0.9))
    with pytest.raises(ValueError, match=r"1 of 2 runs are not in .*ce sym:0.4 seed 1"):
        report.load_runs(configs, store.root, train=False)
    with pytest.raises(ValueError, match="no runs requested"):
        report.load_runs([], store.root)


def test_recorded_runs_gives_what_has_landed_and_names_the_rest(store):
    configs = experiments.product("cifar10", ["ce", "anl_ce"], ["sym:0.8"], [1], precision="bf16")
    assert report.recorded_runs(configs, store.root) == (None, configs)
    store.write(fake_record(configs[1], 0.6))
    runs, missing = report.recorded_runs(configs, store.root)
    assert list(runs.summaries["loss"]) == ["anl_ce"] and missing == [configs[0]]


def test_protocol_sentence_is_drawn_from_the_records():
    configs = experiments.product("mnist", ["ce"], ["clean", "sym:0.4"], [1, 2], epochs=3, train_subset=10_000)
    records = [fake_record(c, 0.9) for c in configs]
    anl = fake_record(experiments.run_config("mnist", "anl_ce", "sym:0.4", 1, epochs=3, train_subset=10_000), 0.9)
    assert "L2 weight decay 0.001 (baselines), 0 (ANL family)" in report.protocol_sentence(records + [anl])
    records[-1]["provenance"]["git_sha"] = "fedcba9876543210"
    text = report.protocol_sentence(records)
    for part in ("4 run records", "MNIST", "model cnn4", "stratified training subset of 10,000 images",
                 "10,000 test images", "3 epochs", "batch 128", "lr 0.01", "seeds 1, 2", "noise clean, sym 0.4;",
                 "L2 weight decay 0.001 (baselines)",
                 "cpu (2 threads)", "0123456", "fedcba9", "2.00 h"):
        assert part in text, part
    assert "augmentation none," in text
    jpeg = fake_record(RunConfig(dataset="cifar10", loss="ce", epochs=1), 0.5,
                       source="/d/cifar10-jpeg.tar.gz (JPEG q75 copy of CIFAR-10)")
    assert "CIFAR-10 (JPEG q75 copy)" in report.protocol_sentence([jpeg])
    assert "read from 1 run record:" in report.protocol_sentence([jpeg])
    assert "augmentation random crop (padding 4) and horizontal flip," in report.protocol_sentence([jpeg])
    assert "; full training set, 10,000 images;" in report.protocol_sentence([jpeg])  # the fake record's size
    mixed = fake_record(RunConfig(dataset="mnist", loss="ce", epochs=5), 0.9)
    mixed["noise"]["train_size"] = 60_000
    assert "full training set or a stratified subset of it, 10,000, 60,000 images" in report.protocol_sentence(
        [records[0], mixed])
    assert "autocast" not in text  # fp32 records name no precision
    bf16 = fake_record(RunConfig(dataset="mnist", loss="ce", epochs=3, train_subset=10_000, precision="bf16"), 0.9)
    assert "noise clean; model in bf16 autocast (the loss in float32); trained on" in report.protocol_sentence([bf16])
    assert "; model in bf16 autocast or fp32 (the loss in float32);" in report.protocol_sentence([bf16, records[0]])
    with pytest.raises(ValueError, match="at least one run record"):
        report.protocol_sentence([])
    resumed = fake_record(configs[0], 0.9)
    resumed["provenance"]["code_versions"] = [
        {"git_sha": "unknown", "git_dirty": None, "code_version_source": "checkpoint", "first_epoch": 1, "last_epoch": 2},
        {"git_sha": "abcdef0123", "git_dirty": True, "code_version_source": "git", "first_epoch": 3, "last_epoch": 3}]
    assert ("code 0123456, abcdef0+local changes, unknown (1 run resumed across code versions)"
            in report.protocol_sentence([records[0], resumed]))


def fake_segmentation_record(config: SegmentationConfig, final_dice: float, *, threads: int = 1) -> dict:
    return segmentation_record(config, final_dice, sha="abcdef0123456789", dirty=True, threads=threads, wall=900.0)


def test_mask_noise_label():
    assert report.mask_noise_label("clean") == "clean"
    assert report.mask_noise_label("boundary:1:8-16") == "boundary 8-16 px, all masks"
    assert report.mask_noise_label("shift:0.5:8") == "shift 1-8 px, 50 % of masks"
    assert report.mask_noise_label("coarse:0.25:ellipse") == "coarse (ellipse), 25 % of masks"
    with pytest.raises(ValueError, match="unknown mask noise kind 'sym'"):
        report.mask_noise_label("sym:0.4")


def test_segmentation_runs_load_and_describe_themselves(store):
    configs = [SegmentationConfig(loss, noise=spec, epochs=2, size=(64, 48), base_width=8)
               for loss in ("ce", "anl_ce") for spec in ("clean", "boundary:1:8-16")]
    for index, config in enumerate(configs):
        store.write(fake_segmentation_record(config, 0.7 + index / 100))
    store.write(fake_record(experiments.run_config("mnist", "ce", "clean", 1, epochs=3, train_subset=100), 0.9))
    runs = report.load_runs(configs[::-1], store.root, train=False)
    assert list(runs.summaries["final_test_dice"]) == pytest.approx([0.73, 0.72, 0.71, 0.70])
    text = runs.protocol()
    for part in ("4 run records", "ISIC 2017 Part 1", "2,000 training images at 64x48", "base width 8",
                 "2 epochs", "batch 16", "Adam lr 0.001", "L2 weight decay 0.0001 (baselines), 0 (ANL family)",
                 "loss presets of cifar10", "mask noise boundary 8-16 px, all masks, clean;", "cpu (1 thread)",
                 "abcdef0+local changes", "1.00 h"):
        assert part in text, part
    table = report.accuracy_table(runs.summaries, "final_test_dice", noise_names=report.mask_noise_label)
    assert table.loc["ANL-CE", "boundary 8-16 px, all masks"] == "73.00"
    with pytest.raises(ValueError, match="at least one run record"):
        report.segmentation_protocol_sentence([])


def test_load_runs_trains_missing_segmentation_runs_with_the_segmentation_sweep(store, monkeypatch):
    trained = []

    def sweep(configs, store, **_):
        for config in configs:
            store.write(fake_segmentation_record(config, 0.6))
            trained.append(config)

    monkeypatch.setattr(experiments, "train_segmentation_sweep", sweep)
    monkeypatch.setattr(experiments, "train_sweep", lambda *_, **__: pytest.fail("classification trainer called"))
    config = SegmentationConfig("dice", epochs=1, size=(64, 48), base_width=4)
    runs = report.load_runs([config], store.root, train=True)
    assert trained == [config] and list(runs.summaries["key"]) == [config.key]
    mixed = [SegmentationConfig("dice", seed=2, epochs=1, size=(64, 48), base_width=4),
             experiments.run_config("mnist", "ce", "clean", 1, epochs=1, train_subset=100)]
    with pytest.raises(ValueError, match="classification or segmentation runs, not both"):
        report.load_runs(mixed, store.root, train=True)


def test_data_protocol():
    fake = SimpleNamespace(name="mnist", source="/data/mnist (IDX)", train_labels=np.zeros(60_000))
    text = report.data_protocol([fake], seed=3)
    assert "MNIST training labels (60,000 images, read as IDX)" in text and "seed 3" in text
    assert "/data" not in text


# ----------------------------------------------------------------------------- tables
def test_accuracy_table_mean_and_sample_std_in_percent():
    values = {("ce", "sym:0.4"): [0.5, 0.6, 0.7], ("anl_ce", "sym:0.4"): [0.81, 0.83, 0.82],
              ("ce", "clean"): [0.99], ("anl_ce", "clean"): [0.98]}
    frame = pd.DataFrame([{"loss": loss, "noise": noise, "final_test_acc": v}
                          for (loss, noise), vs in values.items() for v in vs])
    table = report.accuracy_table(frame)
    assert list(table.index) == ["CE", "ANL-CE"] and list(table.columns) == ["sym 0.4", "clean"]
    for (loss, noise), vs in values.items():
        expected = f"{100 * np.mean(vs):.2f}"
        if len(vs) > 1:
            expected += f"\u00a0±\u00a0{100 * np.std(vs, ddof=1):.2f}"
        row = {"ce": "CE", "anl_ce": "ANL-CE"}[loss]
        assert table.loc[row, report.noise_label(noise)] == expected
    assert table.loc["CE", "sym 0.4"] == "60.00\u00a0±\u00a010.00"
    agce = frame.assign(loss=frame["loss"].replace("anl_ce", "nce_agce"))
    named = report.accuracy_table(agce, loss_names=lambda loss: report.loss_label(loss, "mnist"))
    assert list(named.index) == ["CE", "NCE+AGCE (α\u00a0=\u00a00: AGCE alone)"]  # the MNIST preset switches NCE off


def test_format_mean_std():
    assert report.format_mean_std(0.87156, np.nan) == "87.16"
    assert report.format_mean_std(0.5, 0.0123) == "50.00\u00a0±\u00a01.23"
    assert report.format_mean_std(12.0, 1.5, scale=1.0) == "12.00\u00a0±\u00a01.50"
    assert report.format_mean_std(np.nan, np.nan) == "–"
    assert report.format_mean_std(12.5, np.nan, scale=1.0, decimals=1) == "12.5"


def cifar10_paper(loss: str, noise: str, seed: int = 1, **fields) -> RunConfig:
    return experiments.run_config("cifar10", loss, noise, seed, **{"precision": "bf16", **fields})


def test_published_numbers_stand_only_beside_runs_of_the_published_data_set_and_protocol():
    assert report.published_accuracy(cifar10_paper("anl_ce", "sym:0.8")) == 62.28
    assert report.published_accuracy(cifar10_paper("CE", "asym:0.4", precision="fp32")) == 73.85  # any precision
    assert report.published_accuracy(cifar10_paper("gce", "sym:0.8")) is None  # none published
    assert report.published_accuracy(cifar10_paper("ce", "clean")) is None
    assert report.published_accuracy(cifar10_paper("anl_ce", "sym:0.8", epochs=120)) == 62.28  # the paper's, spelled out
    for other in (cifar10_paper("anl_ce", "sym:0.8", epochs=40), cifar10_paper("anl_ce", "sym:0.8", train_subset=5000),
                  cifar10_paper("anl_ce", "sym:0.8", weight_decay=1e-4), experiments.run_config("mnist", "anl_ce", "sym:0.8")):
        assert report.published_accuracy(other) is None, other
    # a cell has its number only when every run of it is at the published protocol
    mixed = [cifar10_paper("anl_ce", "sym:0.8", 1), cifar10_paper("anl_ce", "sym:0.8", 2, epochs=40),
             cifar10_paper("ce", "sym:0.8"), cifar10_paper("gce", "sym:0.8")]
    assert report.published_cells(mixed) == {("sym:0.8", "ce"): 19.74}


def test_with_published_sets_the_published_column_beside_ours():
    ours = pd.DataFrame({"sym 0.8": ["60.00", "55.00", "20.00"]}, index=["ANL-CE", "GCE", "CE"])
    merged = report.with_published(ours, [cifar10_paper(loss, "sym:0.8") for loss in ("anl_ce", "gce", "ce")])
    assert list(merged.columns) == [("sym 0.8", "ours"), ("sym 0.8", report.PUBLISHED_LABEL)]
    assert list(merged[("sym 0.8", report.PUBLISHED_LABEL)]) == ["62.28", "–", "19.74"]  # every loss of a setting
    mnist = experiments.product("mnist", ["anl_ce", "gce"], ["sym:0.8"], [1])
    assert report.with_published(ours, mnist) is ours
    short = [cifar10_paper(loss, "sym:0.8", epochs=40) for loss in ("anl_ce", "gce")]
    assert report.with_published(ours, short) is ours


def test_side_by_side_interleaves_and_marks_missing_cells():
    reduced = pd.DataFrame({"sym 0.8": ["78.50", "22.80"], "asym 0.4": ["65.16", "82.00"]}, index=["ANL-CE", "CE"])
    full = pd.DataFrame({"sym 0.8": ["91.00"]}, index=["ANL-CE"])
    merged = report.side_by_side({"reduced": reduced, "paper": full})
    assert list(merged.columns) == [("sym 0.8", "reduced"), ("sym 0.8", "paper"),
                                    ("asym 0.4", "reduced"), ("asym 0.4", "paper")]
    assert list(merged.index) == ["ANL-CE", "CE"]
    assert list(merged[("sym 0.8", "paper")]) == ["91.00", "–"]
    assert list(merged[("asym 0.4", "paper")]) == ["–", "–"]
    assert list(merged[("asym 0.4", "reduced")]) == ["65.16", "82.00"]
    with pytest.raises(ValueError, match="at least one table"):
        report.side_by_side({})


def test_run_scores_table_groups_in_order_of_appearance():
    summaries = pd.DataFrame({"alpha": [2.0, 2.0, 0.5], "beta": [1.0, 1.0, 0.5],
                              "final_test_acc": [0.9, 0.8, 0.5], "best_test_acc": [0.95, 0.85, 0.6],
                              "final_noisy_acc_given": [0.01, 0.03, 0.4]})
    lines = report.run_scores_table(summaries, ["alpha", "beta"]).splitlines()
    assert lines[0] == "| alpha | beta | last-epoch test (%) | best-epoch test (%) | memorisation, last (%) |"
    assert lines[1] == "|---|---|---:|---:|---:|"
    assert lines[2] == "| 2 | 1 | 85.00\u00a0±\u00a07.07 | 90.00\u00a0±\u00a07.07 | 2.00\u00a0±\u00a01.41 |"
    assert lines[3] == "| 0.5 | 0.5 | 50.00 | 60.00 | 40.00 |"
    assert len(lines) == 4


def test_run_scores_table_with_own_columns_and_names():
    runs = pd.DataFrame({"noise": ["sym:0.8", "sym:0.8", "clean"], "loss": ["anl_ce", "anl_ce", "ce"],
                         "converged": [12.0, 15.0, 3.0], "dice": [0.81234, 0.80011, 0.5]})
    columns = {"converged": ("converged at (epoch)", 1.0, 1), "dice": ("Dice", 1.0, 3)}
    table = report.run_scores_table(runs, ["noise", "loss"], columns,
                                    names={"noise": report.noise_label, "loss": losses.display_name})
    assert table.splitlines() == ["| noise | loss | converged at (epoch) | Dice |", "|---|---|---:|---:|",
                                  "| sym 0.8 | ANL-CE | 13.5\u00a0±\u00a02.1 | 0.806\u00a0±\u00a00.009 |", "| clean | CE | 3.0 | 0.500 |"]


def test_predicted_share_divergence():
    balanced = [[5, 0], [0, 5]]
    assert report.predicted_share_divergence(balanced) == 0.0
    assert report.predicted_share_divergence([[3, 2], [2, 3]]) == 0.0  # errors, but balanced shares
    # every image predicted as class 0 of a balanced pair: KL = 1 * log(1 / 0.5) = log 2
    assert report.predicted_share_divergence([[5, 0], [5, 0]]) == pytest.approx(np.log(2))
    p, q = np.array([0.7, 0.2, 0.1]), np.array([0.5, 0.3, 0.2])
    confusion = [[0.5, 0.0, 0.0], [0.1, 0.2, 0.0], [0.1, 0.0, 0.1]]  # column sums p, row sums q
    assert report.predicted_share_divergence(confusion) == pytest.approx(float(np.sum(p * np.log(p / q))))
    with pytest.raises(ValueError, match="absent from the true labels"):
        report.predicted_share_divergence([[1, 1], [0, 0]])


def test_loss_ranking_orders_losses_by_their_mean_at_one_noise():
    summaries = pd.DataFrame({"noise": ["sym:0.8"] * 4 + ["clean"], "loss": ["ce", "ce", "anl_ce", "gce", "ce"],
                              "final_test_acc": [0.2, 0.4, 0.9, 0.3, 0.99]})
    ranking = report.loss_ranking(summaries, "sym:0.8", "final_test_acc")
    assert list(ranking.index) == ["anl_ce", "ce", "gce"] and ranking["ce"] == pytest.approx(0.3)
    assert list(report.loss_ranking(summaries, "sym:0.8", "final_test_acc", ["gce", "ce", "sce"]).index) == ["ce", "gce"]
    assert report.loss_ranking(summaries, "asym:0.4", "final_test_acc").empty


def test_markdown_table():
    frame = pd.DataFrame({("a", "x"): ["1"], ("a", "y"): ["2"]}, index=["CE"])
    assert report.markdown_table(frame).splitlines() == ["|  | a / x | a / y |", "|---|---|---|", "| CE | 1 | 2 |"]
    claims = pd.DataFrame({"setting": ["sym 0.8"]}, index=pd.Index(
        ["converges faster than APL with MAE: epochs to the convergence bar"], name="claim"))
    row = report.markdown_table(claims).splitlines()[2]
    # breaks only between runs of 12 characters or more (a lone last word joins the run before);
    # a cell shorter than two runs breaks where it breaks
    assert row == "| converges\u00a0faster than\u00a0APL\u00a0with MAE:\u00a0epochs\u00a0to the\u00a0convergence\u00a0bar | sym 0.8 |"
    assert report.wrap_in_chunks("+2.1\u00a0±\u00a00.4 points (3)") == "+2.1\u00a0±\u00a00.4 points (3)"
    assert report.wrap_in_chunks("see {doc}`the claims page`") == "see {doc}`the claims page`"  # markup untouched


def test_ranked_finding_names_the_best_setting_first_with_its_scores():
    runs = pd.DataFrame({"wd": [0.1, 0.1, 0.0], "final_test_acc": [0.5, 0.7, 0.9],
                         "final_noisy_acc_given": [0.2, 0.4, 0.05]})
    assert report.ranked_finding(runs, "wd", lambda value: f"wd {value:g}") == (
        "wd 0 ends highest (90.0\u00a0% test accuracy, 5.0\u00a0% of the wrong labels fitted); "
        "wd 0.1 60.0\u00a0% (30.0\u00a0%).")
    assert report.ranked_finding(runs[runs["wd"] == 0.0], "wd", str).endswith("fitted).")


def test_every_loss_has_its_own_colour_whatever_the_page_asks_for():
    import matplotlib.colors

    assert set(report.LOSS_COLORS) == set(losses.LOSSES + losses.PIXEL_LOSSES)
    rgb = [matplotlib.colors.to_rgb(colour) for colour in report.LOSS_COLORS.values()]
    assert len(set(rgb)) == len(rgb)
    assert report.loss_colors(["anl_ce", "ce"])["ANL-CE"] == report.loss_colors(["ce", "gce", "ANL-CE"])["ANL-CE"]


def test_plot_curves_by_protocol_gives_each_protocol_its_column_on_one_log_step_axis():
    import matplotlib

    matplotlib.use("Agg")
    frame = pd.DataFrame({"loss": ["ce", "ce", "anl_ce", "anl_ce"] * 2, "noise": ["sym:0.8"] * 4 + ["asym:0.4"] * 4,
                          "seed": 1, "step": [10, 20] * 4, "test_acc": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]})
    longer = frame.assign(step=frame["step"] * 5)
    colors = report.loss_colors(["ce", "anl_ce"])
    fig = report.plot_curves_by_protocol({"short": frame, "long": longer}, "test_acc", "test (%)",
                                         ["sym:0.8", "asym:0.4"], ["ce", "anl_ce"], colors)
    axes = fig.axes
    assert len(axes) == 4 and [ax.get_title() for ax in axes[:2]] == ["short", "long"]
    assert all(ax.get_xscale() == "log" for ax in axes) and axes[0].get_xlim() == axes[1].get_xlim()
    assert list(axes[1].get_lines()[1].get_xdata()) == [50, 100]  # ANL-CE under the long protocol
    assert list(axes[2].get_lines()[0].get_ydata()) == pytest.approx([50.0, 60.0])  # CE at asym 0.4, in %
    assert axes[2].get_ylabel() == "asym 0.4\ntest (%)"
    assert [text.get_text() for text in fig.legends[0].get_texts()] == ["CE", "ANL-CE"]


def test_plot_curves_draws_one_line_per_loss_and_set_of_runs_in_percent():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = pd.DataFrame({"loss": ["ce"] * 4 + ["anl_ce"] * 4, "noise": "sym:0.8", "seed": [1, 1, 2, 2] * 2,
                           "epoch": [1, 2, 1, 2] * 2, "test_acc": [0.2, 0.4, 0.4, 0.6, 0.5, 0.7, 0.5, 0.7]})
    reduced = epochs.assign(test_acc=epochs["test_acc"] / 2)
    colors = report.loss_colors(["ce", "anl_ce"])
    fig = report.plot_curves({"paper": epochs, "reduced": reduced}, {"test_acc": "test (%)"}, ["sym:0.8"],
                             ["ce", "anl_ce"], colors)
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert [line.get_linestyle() for line in lines] == ["-", "-", "--", "--"]
    assert list(lines[0].get_ydata()) == pytest.approx([30.0, 50.0])  # CE, mean over seeds, in %
    assert list(lines[3].get_ydata()) == pytest.approx([25.0, 35.0])  # ANL-CE, second set of runs
    assert lines[1].get_color() == colors["ANL-CE"]
    assert [text.get_text() for text in fig.legends[0].get_texts()] == ["CE", "ANL-CE", "paper", "reduced"]
    assert ax.get_title() == "sym 0.8" and ax.get_ylabel() == "test (%)"
    single = report.plot_curves({"runs": epochs}, {"test_acc": "test (%)"}, ["sym:0.8"], ["ce"], colors)
    assert [text.get_text() for text in single.legends[0].get_texts()] == ["CE"]
    steps = report.plot_curves({"runs": epochs.assign(step=epochs["epoch"] * 79)}, {"test_acc": "test (%)"},
                               ["sym:0.8"], ["ce"], colors, x="step")
    assert list(steps.axes[0].get_lines()[0].get_xdata()) == [79, 158]
    assert steps.axes[0].get_xlabel() == "optimiser step"
    with pytest.raises(ValueError, match="1 to 4 sets of runs"):
        report.plot_curves({}, {"test_acc": "test (%)"}, ["sym:0.8"], ["ce"], colors)
    two = epochs.assign(memorised=epochs["test_acc"] / 10)
    metrics = {"test_acc": "test (%)", "memorised": "memorisation (%)"}
    across = report.plot_curves({"runs": two}, metrics, ["sym:0.8"], ["ce"], colors, metrics_across=True)
    assert [(ax.get_title(), ax.get_subplotspec().colspan.start) for ax in across.axes] == [
        ("test (%)", 0), ("memorisation (%)", 1)]  # one row, a column per metric, each on its own scale
    assert across.axes[0].get_ylabel() == "sym 0.8" and across.axes[1].get_ylim() != across.axes[0].get_ylim()
    plt.close("all")


def test_accuracy_against_noise_rate_one_panel_per_kind_with_the_clean_runs_in_each():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.colors
    import matplotlib.pyplot as plt

    rows = [("ce", "clean", 0.0, 0.9), ("ce", "sym:0.4", 0.38, 0.6), ("ce", "sym:0.4", 0.42, 0.8),
            ("ce", "asym:0.2", 0.2, 0.7), ("anl_ce", "clean", 0.0, 0.95), ("anl_ce", "sym:0.4", 0.4, 0.85),
            ("anl_ce", "asym:0.2", 0.2, 0.9)]
    summaries = pd.DataFrame(rows, columns=["loss", "noise", "noise_rate", "final_test_acc"])
    colors = report.loss_colors(["ce", "anl_ce"])
    fig = report.plot_accuracy_against_noise_rate(summaries, ["ce", "anl_ce"], colors, "MNIST")
    symmetric, asymmetric = fig.axes
    assert [symmetric.get_title(), asymmetric.get_title()] == ["symmetric noise", "asymmetric noise"]
    ce_line = symmetric.containers[0].lines[0]  # CE at clean and sym 0.4: realised rate, mean over seeds, in %
    assert list(ce_line.get_xdata()) == pytest.approx([0.0, 40.0])
    assert list(ce_line.get_ydata()) == pytest.approx([90.0, 70.0])
    assert matplotlib.colors.to_hex(ce_line.get_color()) == colors["CE"]
    (bars,) = symmetric.containers[0].lines[2]  # the error bars: std over the two sym 0.4 seeds, none for one
    half_heights = [np.ptp(segment[:, 1]) / 2 for segment in bars.get_segments()]
    assert half_heights == pytest.approx([0.0, 100 * np.std([0.6, 0.8], ddof=1)])
    assert list(asymmetric.containers[1].lines[0].get_xdata()) == pytest.approx([0.0, 20.0])  # ANL-CE, clean too
    assert symmetric.get_ylabel() == "last-epoch test accuracy (%)"
    assert symmetric.get_xlabel() == "realised noise rate (%)"
    assert [text.get_text() for text in fig.legends[0].get_texts()] == ["CE", "ANL-CE"]
    assert fig.get_suptitle() == "MNIST"
    plt.close("all")


def test_curves_by_setting_one_line_per_setting_in_order_and_in_percent():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.colors
    import matplotlib.pyplot as plt
    import seaborn as sns

    curves = pd.DataFrame({"regulariser": ["L1"] * 4 + ["none"] * 2, "seed": [1, 1, 2, 2, 1, 1],
                           "epoch": [1, 2, 1, 2, 1, 2], "test_acc": [0.2, 0.4, 0.4, 0.6, 0.5, 0.3],
                           "noisy_acc_given": [0.1, 0.2, 0.1, 0.2, 0.3, 0.6]})
    fig = report.plot_curves_by_setting(curves, "regulariser", "ANL-CE, sym 0.8")
    test, memorisation = fig.axes
    assert [ax.get_ylabel() for ax in fig.axes] == ["test accuracy (%)", "memorisation (%)"]
    assert fig.get_suptitle() == "ANL-CE, sym 0.8"
    l1, none = test.get_lines()
    assert list(l1.get_ydata()) == pytest.approx([30.0, 50.0])  # mean over seeds, in %
    assert list(memorisation.get_lines()[1].get_ydata()) == pytest.approx([30.0, 60.0])
    colours = [matplotlib.colors.to_hex(line.get_color()) for line in (l1, none)]
    assert colours == report.setting_colors(2) and not set(colours) & set(report.LOSS_COLORS.values())
    assert [text.get_text() for text in fig.legends[0].get_texts()] == ["L1", "none"]
    plt.close("all")


def test_alpha_beta_grid_puts_the_largest_alpha_on_top_and_annotates_each_cell():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    accuracy = pd.DataFrame([[50.0, 60.0, 70.0], [80.0, 90.0, 95.25]], index=pd.Index([0.5, 2.0], name="alpha"),
                            columns=pd.Index([0.5, 1.0, 2.0], name="beta"))
    fig = report.plot_alpha_beta_grid(accuracy, "ANL-CE, sym 0.6")
    ax = fig.axes[0]
    assert [label.get_text() for label in ax.get_yticklabels()] == ["2.0", "0.5"]
    assert [text.get_text() for text in ax.texts][:3] == ["80.0", "90.0", "95.2"]  # the top row is alpha 2
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == (
        "beta (NNCE weight)", "alpha (NCE weight)", "ANL-CE, sym 0.6")
    assert fig.axes[1].get_ylabel() == "last-epoch test accuracy (%)"  # the colour bar
    plt.close("all")


def test_delta_sweep_spaces_the_values_evenly_marks_the_preset_and_counts_the_seeds():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = pd.DataFrame({"delta_value": [1e-4, 1e-4, 0.0, 0.0, 1e-5, 1e-5], "seed": [1, 2] * 3,
                          "final_test_acc": [0.9, 0.8, 0.2, 0.4, 0.7, 0.7],
                          "final_noisy_acc_given": [0.1, 0.1, 0.9, 0.9, 0.2, 0.2]})
    fig = report.plot_delta_sweep(sweep, 1e-5, "ANL-CE, sym 0.8")
    test, memorisation = fig.axes
    points = test.containers[0].lines[0]
    assert list(points.get_xdata()) == [0, 1, 2] and list(points.get_ydata()) == pytest.approx([30.0, 70.0, 85.0])
    (bars,) = test.containers[0].lines[2]
    half_heights = [np.ptp(segment[:, 1]) / 2 for segment in bars.get_segments()]
    assert half_heights == pytest.approx([100 * np.std([0.2, 0.4], ddof=1), 0.0, 100 * np.std([0.9, 0.8], ddof=1)])
    assert [label.get_text() for label in test.get_xticklabels()] == ["0", "1e-05", "0.0001"]
    (preset,) = [line for line in test.get_lines() if line.get_linestyle() == ":"]
    assert list(preset.get_xdata()) == [1, 1] and [text.get_text() for text in test.texts] == ["preset"]
    assert test.get_ylim() == memorisation.get_ylim() == (0, 100)
    assert memorisation.get_ylabel() == "memorisation, last epoch (%)"
    assert fig.get_suptitle() == "ANL-CE, sym 0.8\n(error bars: std over 2 seeds)"
    dots = test.collections[-1]  # one dot per delta, in the settings' colours, smallest delta darkest
    assert [matplotlib.colors.to_hex(colour) for colour in dots.get_facecolors()] == report.setting_colors(3)
    one_seed = report.plot_delta_sweep(sweep[sweep["seed"] == 1], 1e-5, "ANL-CE, sym 0.8")
    assert one_seed.get_suptitle() == "ANL-CE, sym 0.8\n(one seed: no spread shown)"
    plt.close("all")


def test_predicted_class_shares_per_weight_beside_the_given_and_true_shares():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # two classes of 60 and 40 test images; asymmetric noise moves half of class 0's labels to class 1
    er_runs = pd.DataFrame({"lam": [0.0, 2.0, 2.0], "seed": [1, 1, 2],
                            "test_confusion": [[[30, 30], [0, 40]], [[50, 10], [0, 40]], [[60, 0], [10, 30]]]})
    fig = report.plot_predicted_class_shares(er_runs, [[0.5, 0.5], [0.0, 1.0]], ["a", "b"], "ANL-CE-ER, asym 0.4")
    ax = fig.axes[0]
    heights = [patch.get_height() for patch in ax.patches if patch.get_width() > 0][:6]
    # classes a and b for λ = 0, for λ = 2 (the mean of its two seeds) and for the given labels
    assert heights == pytest.approx([30.0, 70.0, 60.0, 40.0, 30.0, 70.0])
    (true_share,) = ax.collections  # the dashed lines over each class
    assert [segment[0, 1] for segment in true_share.get_segments()] == pytest.approx([60.0, 40.0])
    assert [text.get_text() for text in ax.get_legend().get_texts()] == [
        "predicted, λ = 0", "predicted, λ = 2", "training labels (given, noisy)", "true share (test)"]
    assert (ax.get_ylabel(), ax.get_title()) == ("share of images (%)", "ANL-CE-ER, asym 0.4")
    plt.close("all")


def test_protocol_table_compares_each_protocol_with_the_first_of_its_loss_and_noise():
    summaries = pd.DataFrame({
        "loss": ["anl_ce"] * 4 + ["ce"] * 2, "noise": ["asym:0.4"] * 4 + ["sym:0.8"] * 2,
        "seed": [1, 2, 1, 1, 1, 1], "train_size": [10_000, 10_000, 60_000, 10_000, 10_000, 60_000],
        "epochs": [30, 30, 5, 150, 30, 50], "batch_size": 128, "final_test_acc": [0.6, 0.7, 0.9, 0.8, 0.5, 0.25]})
    table = report.protocol_table(summaries.assign(best_test_acc=summaries["final_test_acc"] + 0.1),
                                  ["final_test_acc", "best_test_acc"])
    assert list(table.index) == ["ANL-CE"] * 3 + ["CE"] * 2
    assert list(table["images × epochs"]) == [f"{size}\u00a0×\u00a0{epochs}" for size, epochs in (
        ("10,000", 30), ("60,000", 5), ("10,000", 150), ("10,000", 30), ("60,000", 50))]
    assert list(table["× images"]) == ["1.0", "6.0", "1.0", "1.0", "6.0"]
    assert list(table["optimiser steps (× first)"]) == [f"{steps}\u00a0(×{times})" for steps, times in (
        ("2,370", "1.0"), ("2,345", "1.0"), ("11,850", "5.0"), ("2,370", "1.0"), ("23,450", "9.9"))]
    assert list(table["last-epoch test (%)"]) == ["65.0\u00a0±\u00a07.1", "90.0", "80.0", "50.0", "25.0"]
    assert list(table["change (points)"]) == ["–", "+25.0", "+15.0", "–", "-25.0"]
    assert list(table["best-epoch test (%)"]) == ["75.0\u00a0±\u00a07.1", "100.0", "90.0", "60.0", "35.0"]
    assert list(table.columns[-3:]) == ["last-epoch test (%)", "change (points)", "best-epoch test (%)"]


def test_optimiser_steps_count_the_last_smaller_batch():
    frame = pd.DataFrame({"epoch": [1, 30, 5], "epochs": [30, 30, 5], "train_size": [10_000, 10_000, 60_000],
                          "batch_size": [128, 128, 128]})
    assert list(report.optimiser_steps(frame)) == [79, 2370, 2345]  # 10,000 = 78 x 128 + 16
    assert list(report.optimiser_steps(frame, "epochs")) == [2370, 2370, 2345]


def test_section_runs_labels_each_run_with_its_setting():
    configs = experiments.product("mnist", ["ce", "gce"], ["sym:0.8"], [1], epochs=3, train_subset=100)
    frame = pd.DataFrame({"key": [configs[1].key, configs[0].key, "other"], "final_test_acc": [0.5, 0.6, 0.7]})
    labelled = report.section_runs(frame, [("first", configs[0]), ("second", configs[1]), ("again", configs[0])], "setting")
    assert dict(zip(labelled["key"], labelled["setting"])) == {configs[0].key: "first", configs[1].key: "second"}
    assert len(labelled) == 2


def epoch_rows(key: str, loss: str, test: list[float], memorised: list[float], seed: int = 1) -> pd.DataFrame:
    return pd.DataFrame({"key": key, "loss": loss, "noise": "sym:0.8", "seed": seed, "epoch": range(1, len(test) + 1),
                         "test_acc": test, "noisy_acc_given": memorised})


def test_run_dynamics_convergence_and_memorisation_per_run():
    epochs = pd.concat([epoch_rows("a", "ce", [0.5, 0.9, 0.8, 0.6], [0.1, 0.3, 0.7, 0.6]),
                        epoch_rows("b", "nce_mae", [0.2, 0.4, 0.6, 0.8], [0.0, 0.0, 0.1, 0.0])])
    scores = report.run_dynamics(epochs.sample(frac=1, random_state=0).sort_values("key", kind="stable"), 0.95)
    a, b = scores.set_index("key").loc["a"], scores.set_index("key").loc["b"]
    assert (a["final_test"], a["final_memorisation"], a["peak_memorisation"]) == (0.6, 0.6, 0.7)
    assert (b["final_test"], b["peak_memorisation"]) == (0.8, 0.1)
    # the bar: 0.95 x the best last-epoch accuracy (b's 0.8) = 0.76; b stays above it from epoch 4, a ends below
    assert a["bar"] == b["bar"] == pytest.approx(0.76)
    assert (a["reached_bar"], a["cleared_bar"], b["reached_bar"], b["cleared_bar"]) == (5, False, 4, True)
    # the bar takes the mean over seeds of each loss: b's seeds 0.8 and 0.6 -> 0.7; a's 0.6 -> bar 0.95 * 0.7
    seed_2 = epoch_rows("b2", "nce_mae", [0.6, 0.7, 0.6, 0.6], [0.0] * 4, seed=2)
    assert report.convergence_bars(pd.concat([epochs, seed_2]), 0.95)["sym:0.8"] == pytest.approx(0.665)
    other = epoch_rows("d", "ce", [0.1, 0.2, 0.3, 0.4], [0.0] * 4).assign(noise="asym:0.4")
    scores = report.run_dynamics(pd.concat([epochs, other]), 0.6).set_index("key")
    assert scores.loc["d", "bar"] == pytest.approx(0.24) and scores.loc["d", "reached_bar"] == 3  # bars per setting
    assert scores.loc["a", "reached_bar"] == 1  # 0.6 x 0.8 = 0.48: a is above it from its first epoch
    with pytest.raises(ValueError, match="convergence_fraction"):
        report.run_dynamics(epochs, 1.5)


def test_a_loss_that_collapses_never_converges_first():
    """A loss that is quick early and collapses to 60 % (NCE+MAE on MNIST at sym 0.8) must lose the
    convergence claim to losses that end at 95 %: it never stays above the bar."""
    climb = [0.5, 0.7, 0.85, 0.92, 0.95, 0.95, 0.95, 0.95]
    collapse = [0.93, 0.94, 0.9, 0.8, 0.7, 0.65, 0.62, 0.60]
    epochs = pd.concat([*(epoch_rows(f"anl{seed}", "anl_ce", [v - 0.002 * seed for v in climb], [0.0] * 8, seed)
                          for seed in (1, 2, 3)),
                        *(epoch_rows(f"mae{seed}", "nce_mae", [v - 0.002 * seed for v in collapse], [0.0] * 8, seed)
                          for seed in (1, 2, 3))])
    scores = report.run_dynamics(epochs, 0.95)
    assert set(scores.loc[scores["loss"] == "nce_mae", "reached_bar"]) == {9}  # never: last epoch + 1
    check = report.claim_check(scores, "loss", "reached_bar", ["anl_ce"], ["nce_mae"], higher_is_better=False)
    assert check.verdict(report.measure("epochs")).label == "holds"
    flipped = report.claim_check(scores, "loss", "reached_bar", ["nce_mae"], ["anl_ce"], higher_is_better=False)
    assert flipped.verdict(report.measure("epochs")).label == "does not hold"


def test_accuracy_at_epochs_reads_each_run_after_the_epochs_asked():
    epochs = pd.DataFrame({"key": ["a"] * 3 + ["b"] * 3, "loss": ["ce"] * 3 + ["anl_ce"] * 3, "noise": "sym:0.8",
                           "seed": 1, "epoch": [1, 2, 3] * 2, "test_acc": [0.1, 0.5, 0.6, 0.3, 0.4, 0.8],
                           "noisy_acc_given": 0.0})
    early = report.accuracy_at_epochs(epochs, [1, 3])
    assert early.to_dict("list") == {"key": ["a", "b"], "loss": ["ce", "anl_ce"], "noise": ["sym:0.8"] * 2,
                                     "seed": [1, 1], "test_acc_at_1": [0.1, 0.3], "test_acc_at_3": [0.6, 0.8]}
    with pytest.raises(ValueError, match=r"epochs \[4\] asked for, but a run has only 3 epochs"):
        report.accuracy_at_epochs(epochs, [4])


def test_claim_check_compares_the_worst_candidate_with_the_best_baseline():
    runs = pd.DataFrame({"loss": ["anl_ce", "anl_fl", "ce", "nce_rce"] * 2, "seed": [1] * 4 + [2] * 4,
                         "acc": [0.90, 0.80, 0.50, 0.85, 0.90, 0.90, 0.50, 0.70]})
    check = report.claim_check(runs, "loss", "acc", ["anl_ce", "anl_fl"], ["ce", "nce_rce"])
    # means: anl_ce 0.90, anl_fl 0.85, ce 0.50, nce_rce 0.775 -> margin 0.85 - 0.775; seed 1: 0.80 < 0.85, seed 2: 0.90 > 0.70
    assert check.margin == pytest.approx(0.075)
    assert (check.seeds_holding, check.seeds) == (1, 2)
    pm = report.PLUS_MINUS
    # two seeds, -5 and +20 points: t(0.975, 1) = 12.706, s = 17.68, half-width 12.706 * 17.68 / sqrt(2) = 158.8
    assert check.cells(report.measure("accuracy"), losses.display_name) == {
        "candidates": f"ANL\u2011CE\u00a090.0{pm}0.0\u00a0(2), ANL\u2011FL\u00a085.0{pm}7.1\u00a0(2)",
        "baselines": f"CE\u00a050.0{pm}0.0\u00a0(2), NCE+RCE\u00a077.5{pm}10.6\u00a0(2)", "margin": "+7.5\u00a0points",
        "paired difference": f"+7.5{pm}17.7\u00a0points (2)", "interval": "[-151.3, +166.3]", "seeds": "1 of 2",
        "verdict": "inconclusive"}
    assert list(check.seed_margins.round(6)) == [-0.05, 0.2]  # the paired differences the verdict is taken on
    lower = report.claim_check(runs, "loss", "acc", ["ce"], ["nce_rce", "anl_fl"], higher_is_better=False)
    assert lower.margin == pytest.approx(0.775 - 0.5) and lower.seeds_holding == 2
    against = report.claim_check(runs, "loss", "acc", ["nce_rce"], ["anl_ce"])
    assert against.margin == pytest.approx(-0.125)
    assert against.cells(report.measure("epochs"))["margin"] == "-0.1\u00a0epochs"
    assert report.claim_check(runs[runs["loss"] != "ce"].assign(seed=[1, 1, 1, 2, 2, 2]), "loss", "acc",
                              ["anl_ce"], ["nce_rce"]).seeds == 2


def test_bar_check_judges_the_candidates_against_the_absolute_bar_with_margin_zero():
    runs = pd.DataFrame({"loss": ["anl_ce", "anl_fl"] * 2, "seed": [1, 1, 2, 2], "fit": [0.02, 0.08, 0.04, 0.14]})
    check = report.bar_check(runs, "loss", "fit", ["anl_ce", "anl_fl"], 0.10, higher_is_better=False)
    # means: anl_ce 0.03, anl_fl 0.11 -> margin 0.10 - 0.11 < 0; seed 1 clears (0.08), seed 2 does not (0.14)
    assert check.margin == pytest.approx(-0.01) and (check.seeds_holding, check.seeds) == (1, 2)
    memorisation = report.measure("memorisation")
    assert check.cells(memorisation, losses.display_name)["baselines"] == "bar 10.0"
    assert check.cells(memorisation)["paired difference"] == f"-1.0{report.PLUS_MINUS}4.2\u00a0points (2)"
    assert check.verdict(memorisation).label == "inconclusive" and check.verdict(memorisation).margin == 0
    clear = pd.DataFrame({"loss": "anl_ce", "seed": [1, 2, 3], "fit": [0.020, 0.021, 0.019]})
    # 8 points under the bar with a narrow interval: holds (against a bar the margin is 0)
    assert report.bar_check(clear, "loss", "fit", ["anl_ce"], 0.10, higher_is_better=False).verdict(
        memorisation).label == "holds"


@pytest.mark.parametrize("candidates, baselines, message", [
    ([], ["ce"], "at least one"), (["ce"], ["ce"], "both candidate and baseline"), (["anl_ce"], ["gce"], "no runs of gce")])
def test_claim_check_rejects_bad_groups(candidates, baselines, message):
    runs = pd.DataFrame({"loss": ["anl_ce", "ce"], "seed": [1, 1], "acc": [0.9, 0.5]})
    with pytest.raises(ValueError, match=message):
        report.claim_check(runs, "loss", "acc", candidates, baselines)


def test_protocol_label():
    assert report.protocol_label(None, None) == "paper"
    assert report.protocol_label(30, 10000) == "reduced: 10,000 images, 30 epochs"
    assert report.protocol_label(None, 10000) == "reduced: 10,000 images, paper epochs"
    assert report.protocol_label(5, None) == "reduced: all images, 5 epochs"
    assert report.protocol_caption(None, None) == "paper protocol"
    assert report.protocol_caption(30, 10000) == "reduced protocol: 10,000 images, 30 epochs"


def test_a_finding_is_indicative_with_one_seed_or_a_reduced_protocol():
    assert report.finding_prefix(3, None, None) == "**Finding:**"
    assert report.finding_prefix(1, None, None) == "**Finding (indicative: one seed):**"
    assert report.finding_prefix(2, 30, 10000) == "**Finding (indicative: reduced protocol):**"
    assert report.finding_prefix(1, 30, None) == "**Finding (indicative: one seed, reduced protocol):**"


def test_setting_colors_are_ordered_and_never_a_loss_colour():
    colours = report.setting_colors(4)
    assert len(set(colours)) == 4 and not set(colours) & set(report.LOSS_COLORS.values())
    assert report.setting_colors(4)[0] == report.setting_colors(2)[0]  # the darkest first, whatever the count
    assert report.JOIN_COLOR not in report.LOSS_COLORS.values()


def test_published_numbers_name_registry_losses_and_valid_noise_settings():
    from anl import noise

    assert report.PUBLISHED and report.PUBLISHED_SOURCE and report.PUBLISHED_LABEL
    for loss, spec in report.PUBLISHED:
        assert loss == losses.canonical_name(loss) and loss in losses.LOSSES
        noise.parse_noise(spec)
    assert all(0 < accuracy < 100 for accuracy in report.PUBLISHED.values())


def test_the_published_numbers_file_is_package_data():
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    package_data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "published.json" in package_data["anl.report"]
    assert (root / "anl" / "report" / "published.json").is_file()


def test_transition_matrices_one_panel_each_labelled_by_class_with_small_cells_blank():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.full((10, 10), 0.004)
    np.fill_diagonal(matrix, 0.964)
    matrix[0, 1] = 0.4
    matrix[0, 2] = 0.005  # rounds to 0 %: blank, never "0"
    fig = report.plot_transition_matrices([(matrix, "cifar10", "a"), (matrix, "mnist", "b"), (matrix, "mnist", "c")])
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["a", "b", "c"] and len(fig.axes) == 4  # 2 x 2, the last hidden
    assert [label.get_text() for label in visible[0].get_xticklabels()][:3] == ["plane", "car", "bird"]
    annotated = [text.get_text() for text in visible[0].texts if text.get_text()]
    assert len(annotated) == 11 and "40" in annotated and "96" in annotated  # in %; the 0.4 % cells are blank
    plt.close("all")


def test_draw_masks_outlines_each_mask_in_its_colour_and_names_one_without_contour():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.colors
    import matplotlib.pyplot as plt

    image = np.zeros((3, 12, 16), dtype=np.uint8)
    lesion = np.zeros((12, 16), dtype=bool)
    lesion[3:9, 4:12] = True
    fig, ax = plt.subplots()
    report.draw_masks(ax, image, {"clean": (lesion, "white"), "noisy": (np.zeros_like(lesion), report.MASK_NOISE_COLOR)},
                      "title")
    contours = [child for child in ax.get_children() if isinstance(child, matplotlib.collections.Collection)]
    assert len(contours) == 1 and matplotlib.colors.to_hex(contours[0].get_edgecolor()[0]) == "#ffffff"
    (note,) = ax.texts
    assert note.get_text() == "noisy: no lesion pixels"
    assert matplotlib.colors.to_hex(note.get_bbox_patch().get_facecolor()) == matplotlib.colors.to_hex("deeppink")
    assert ax.get_title() == "title" and not ax.axison
    plt.close("all")


def test_segmentation_curves_a_column_per_setting_and_a_memorisation_row_only_for_noisy_masks():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.colors
    import matplotlib.pyplot as plt

    noisy = "boundary:1:8-16"
    epochs = pd.DataFrame({"loss": ["ce"] * 4 + ["dice"] * 4, "noise": ["clean", "clean", noisy, noisy] * 2,
                           "seed": 1, "epoch": [1, 2] * 4, "test_dice": [0.5, 0.6, 0.4, 0.5, 0.7, 0.8, 0.6, 0.7],
                           "flipped_fit_given": [np.nan, np.nan, 0.2, 0.3, np.nan, np.nan, 0.1, 0.1]})
    colors = report.loss_colors(["ce", "dice"])
    fig = report.plot_segmentation_curves(epochs, ["clean", noisy], [noisy], ["ce", "dice"], colors)
    (clean_dice, clean_fit), (noisy_dice, noisy_fit) = np.reshape(fig.axes, (2, 2))  # a row per setting
    assert [clean_dice.get_title(), clean_fit.get_title()] == ["test Dice (%)", "flipped pixels fitted (%)"]
    assert (clean_dice.get_ylabel(), noisy_dice.get_ylabel()) == ("clean", "boundary 8-16 px\nall masks")
    ce, dice = noisy_dice.get_lines()
    assert list(ce.get_ydata()) == pytest.approx([40.0, 50.0]) and ce.get_marker() == "o"
    assert matplotlib.colors.to_hex(dice.get_color()) == colors["Dice"] and not noisy_dice.collections  # no shading
    assert list(noisy_fit.get_lines()[0].get_ydata()) == pytest.approx([20.0, 30.0])
    assert not clean_fit.get_lines() and [text.get_text() for text in clean_fit.texts] == ["no noisy masks"]
    assert [text.get_text() for text in fig.legends[0].get_texts()] == ["CE", "Dice"]
    clean_only = report.plot_segmentation_curves(epochs, ["clean"], [], ["ce"], colors)
    assert len(clean_only.axes) == 1 and clean_only.axes[0].get_xlabel() == "epoch"
    plt.close("all")


def masks_of(*boxes: tuple[int, int, int, int]) -> np.ndarray:
    """(len(boxes), 12, 16) boolean masks, each True inside its (top, bottom, left, right) box."""
    masks = np.zeros((len(boxes), 12, 16), dtype=bool)
    for mask, (top, bottom, left, right) in zip(masks, boxes):
        mask[top:bottom, left:right] = True
    return masks


def outline_colours(ax) -> list[str]:
    import matplotlib.collections
    import matplotlib.colors

    return [matplotlib.colors.to_hex(child.get_edgecolor()[0]) for child in ax.get_children()
            if isinstance(child, matplotlib.collections.Collection)]


def test_mask_noise_examples_a_row_per_image_and_a_column_per_setting():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.colors
    import matplotlib.pyplot as plt

    images = np.zeros((3, 3, 12, 16), dtype=np.uint8)
    clean = masks_of((2, 8, 2, 8), (2, 8, 2, 8), (2, 8, 2, 8))
    noisy = {"boundary:1:8-16": masks_of((1, 9, 1, 9), (0, 0, 0, 0), (1, 9, 1, 9)), "shift:1:8-16": clean}
    fig = report.plot_mask_noise_examples(images, clean, noisy, [2, 1])
    axes = np.reshape(fig.axes, (2, 2))
    assert axes[0, 1].get_title() == f"training image 2\n{report.mask_noise_label('shift:1:8-16')}"
    pink = matplotlib.colors.to_hex(report.MASK_NOISE_COLOR)
    assert outline_colours(axes[0, 0]) == ["#ffffff", pink]
    assert outline_colours(axes[1, 0]) == ["#ffffff"] and axes[1, 0].texts[0].get_text() == "noisy: no lesion pixels"
    plt.close("all")


def test_example_predictions_clean_noise_and_each_loss_in_its_colour_per_test_image():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.colors
    import matplotlib.pyplot as plt

    images = np.zeros((5, 3, 12, 16), dtype=np.uint8)
    clean = masks_of(*[(2, 8, 2, 8)] * 5)
    predictions = {"ce": masks_of(*[(3, 9, 3, 9)] * 5), "anl_ce": masks_of(*[(0, 0, 0, 0)] * 5)}
    colors = report.loss_colors(["ce", "anl_ce"])
    fig = report.plot_example_predictions(images, clean, masks_of((1, 9, 1, 9), (1, 9, 1, 9)), predictions, [4, 0],
                                          colors, "Predictions")
    axes = np.reshape(fig.axes, (2, 4))
    assert [ax.get_title() for ax in axes[0]] == ["clean mask", "noise on this mask", "CE", "ANL-CE"]
    assert [ax.get_title() for ax in axes[1]] == ["", "", "", ""]
    assert [axes[row, 0].texts[0].get_text() for row in range(2)] == ["test 4", "test 0"]
    assert outline_colours(axes[0, 1])[1] == matplotlib.colors.to_hex(report.MASK_NOISE_COLOR)
    assert outline_colours(axes[0, 2]) == ["#ffffff", colors["CE"]]
    assert axes[0, 3].texts[0].get_text() == "prediction: no lesion pixels"
    assert fig.get_suptitle() == "Predictions"
    plt.close("all")


def test_gradient_norms_a_panel_per_family_each_loss_in_its_colour_mae_dashed():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.colors
    import matplotlib.pyplot as plt

    p_y, norm = np.array([0.1, 0.5, 0.9]), np.array([2.0, 0.1, 1e-3])
    panels = {"CE family": {"ce": (p_y, norm), "mae": (p_y, norm / 2)}, "focal family": {"nnfl": (p_y, norm)}}
    fig = report.plot_gradient_norms(panels, "K = 10")
    ce_family, focal_family = fig.axes
    assert [ce_family.get_title(), focal_family.get_title()] == ["CE family", "focal family"]
    ce, mae = ce_family.get_lines()
    assert list(mae.get_ydata()) == pytest.approx([1.0, 0.05, 5e-4]) and list(ce.get_xdata()) == [0.1, 0.5, 0.9]
    assert (ce.get_linestyle(), mae.get_linestyle()) == ("-", "--")
    nnfl = focal_family.get_lines()[0]
    assert matplotlib.colors.to_hex(nnfl.get_color()) == report.LOSS_COLORS["nnfl"]
    assert ce_family.get_yscale() == "log" and ce_family.get_ylim() == pytest.approx((1e-4, 3))
    assert [text.get_text() for text in ce_family.get_legend().get_texts()] == ["CE", "MAE"]
    assert ce_family.get_ylabel() == "logit-gradient norm ||dL/dz||" and fig.get_suptitle() == "K = 10"
    plt.close("all")


def test_the_mask_noise_colour_is_no_loss_colour():
    import matplotlib.colors

    loss_rgb = {matplotlib.colors.to_rgb(colour) for colour in report.LOSS_COLORS.values()}
    assert matplotlib.colors.to_rgb(report.MASK_NOISE_COLOR) not in loss_rgb | {(1.0, 1.0, 1.0)}


def test_the_line_style_keys_of_a_curves_legend_are_far_from_every_classification_loss_colour():
    import matplotlib
    import matplotlib.colors
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    frame = pd.DataFrame({"loss": "ce", "noise": "sym:0.8", "seed": 1, "epoch": [1, 2], "test_acc": [0.3, 0.2]})
    fig = report.plot_curves({"paper protocol": frame, "40 epochs": frame}, {"test_acc": "test accuracy (%)"},
                             ["sym:0.8"], ["ce"], report.loss_colors(["ce"]), x="epoch")
    legend = fig.legends[0]
    keys = {text.get_text(): matplotlib.colors.to_rgb(line.get_color())
            for text, line in zip(legend.get_texts(), legend.get_lines())}
    classification = np.array([matplotlib.colors.to_rgb(report.LOSS_COLORS[loss]) for loss in losses.LOSSES])
    assert np.linalg.norm(classification - keys["CE"], axis=1).min() == 0
    # far from every loss's colour in RGB, not only different: a dark grey key read as CE's grey
    for style in ("paper protocol", "40 epochs"):
        assert np.linalg.norm(classification - keys[style], axis=1).min() > 0.5
    plt.close("all")


def test_ranking_line_ranks_losses_and_gives_the_anl_ce_gap_per_seed():
    summaries = pd.DataFrame({"loss": ["ce", "anl_ce", "dice"] * 2, "noise": "shift:1:8", "seed": [1, 1, 1, 2, 2, 2],
                              "final_test_dice": [0.70, 0.80, 0.74, 0.72, 0.71, 0.75]})
    assert report.ranking_line(summaries, "shift:1:8", "shift", "final_test_dice", seed_gaps=True) == (
        "- **shift**: ANL-CE 75.5, Dice 74.5, CE 71.0 (ANL-CE − CE: +4.5 points; seed 1 +10.0, seed 2 -1.0)")
    without_ce = summaries[summaries["loss"] != "ce"]
    assert report.ranking_line(without_ce, "shift:1:8", "shift", "final_test_dice", seed_gaps=True) == (
        "- **shift**: ANL-CE 75.5, Dice 74.5")
    assert report.ranking_line(summaries, "clean", "clean", "final_test_dice", seed_gaps=False) is None
    tied = summaries.assign(final_test_dice=[0.7, 0.6996, 0.5] * 2)  # ANL-CE 0.04 points under CE
    assert "(ANL-CE − CE: 0.0 points; seed 1 0.0, seed 2 0.0)" in report.ranking_line(
        tied, "shift:1:8", "shift", "final_test_dice", seed_gaps=True)  # never "-0.0"


# ----------------------------------------------------------------------------- the paper's protocol
def summaries(rows: list[tuple[str, str, int, float]]) -> pd.DataFrame:
    """One summary row per (loss, noise, seed, last-epoch accuracy); best epoch 1 point higher,
    wrong labels fitted: a tenth of the last-epoch accuracy."""
    frame = pd.DataFrame(rows, columns=["loss", "noise", "seed", "final_test_acc"])
    return frame.assign(best_test_acc=frame["final_test_acc"] + 0.01, final_noisy_acc_given=frame["final_test_acc"] / 10)


def test_published_comparison_sets_our_seeds_beside_the_published_number():
    ours = summaries([("anl_ce", "sym:0.8", 1, 0.60), ("anl_ce", "sym:0.8", 2, 0.64), ("ce", "sym:0.8", 1, 0.20)])
    configs = [cifar10_paper(loss, "sym:0.8", seed) for loss in ("ce", "anl_ce", "anl_fl") for seed in (1, 2)]
    table = report.published_comparison(ours, configs)
    table.index = table.index.str.replace("\u2011", "-")  # names never wrap: non-breaking hyphens
    assert list(table.index) == ["CE", "ANL-CE", "ANL-FL"]
    anl = table.loc["ANL-CE"]
    assert (anl["last epoch (%)"], anl["seeds"], anl[report.PUBLISHED_LABEL], anl["ours − published"]) == (
        f"62.00{report.PLUS_MINUS}2.83", 2, "62.28", "-0.28")
    assert anl["best epoch (%)"] == f"63.00{report.PLUS_MINUS}2.83"
    assert anl["memorisation, last (%)"] == f"6.20{report.PLUS_MINUS}0.28"
    assert table.loc["CE", "ours − published"] == "+0.26"  # 20.00 against 19.74, one seed: no std
    assert (table.loc["ANL-FL", "last epoch (%)"], table.loc["ANL-FL", "seeds"]) == ("–", 0)
    assert table.loc["ANL-FL", report.PUBLISHED_LABEL] == "61.89"
    clean = summaries([("ce", "clean", 1, 0.80)]).assign(final_noisy_acc_given=float("nan"))  # no wrong labels
    row = report.published_comparison(clean, [cifar10_paper("ce", "clean")]).loc["CE"]
    assert (row["last epoch (%)"], row["memorisation, last (%)"], row["ours − published"]) == ("80.00", "–", "–")
    # never beside the same loss and noise on another data set or protocol
    for other in (experiments.run_config("mnist", "anl_ce", "sym:0.8"), cifar10_paper("anl_ce", "sym:0.8", epochs=40)):
        row = report.published_comparison(ours, [other]).loc["ANL‑CE"]
        assert (row[report.PUBLISHED_LABEL], row["ours − published"]) == ("–", "–")


def test_published_numbers_of_the_newest_losses_carry_their_own_source_and_std():
    newest = [cifar10_paper(loss, noise) for loss in ("jal_ce", "ce_eps_mae") for noise in ("sym:0.8", "asym:0.4")]
    ours = summaries([("ce_eps_mae", "sym:0.8", 1, 0.60)])
    table = report.published_comparison(ours, newest)
    assert table.loc["CEε+MAE"].iloc[0][report.PUBLISHED_LABEL] == f"58.96{report.PLUS_MINUS}0.70"
    assert table.loc["JAL‑CE"].iloc[0][report.PUBLISHED_LABEL] == "65.43"  # no std published
    note = report.published_note([*newest, cifar10_paper("anl_ce", "sym:0.8")])
    assert note.count("ε-softmax paper") == 1 and note.count("JAL paper") == 1 and "re-reported" in note
    assert report.published_note([experiments.run_config("mnist", "anl_ce", "sym:0.8")]) == ""


def test_published_gaps_set_each_instance_dependent_definition_beside_the_number_of_its_labels():
    configs = [cifar10_paper("anl_ce", noise) for noise in ("sym:0.8", "idn:0.4", "idn-file:0.4", "clean")]
    ours = summaries([("anl_ce", "sym:0.8", 1, 0.60), ("anl_ce", "sym:0.8", 2, 0.62), ("anl_ce", "idn:0.4", 1, 0.76),
                      ("anl_ce", "clean", 1, 0.88)])
    gaps = report.published_gaps(ours, configs)
    assert list(gaps["noise"].str.replace("\u00a0", " ").str.replace("\u2011", "-")) == ["sym 0.8", "idn 0.4"]
    first, generator = gaps.iloc[0], gaps.iloc[1]
    assert (first["seeds"], first["ours (%)"], first["ours − published"]) == (2, "61.00", "-1.28")
    assert generator["labels"] == "instance-dependent (raw pixels)"
    assert generator[report.PUBLISHED_LABEL].startswith("85.74 (idn") and generator["ours − published"] == "–"
    finding = report.gap_finding(gaps, None)
    assert "1 cells" in finding and "1.3 to 1.3 points under" in finding and "not recorded yet" in finding
    with_clean = report.gap_finding(gaps, ours[ours["noise"] == "clean"])
    assert "ANL-CE 88.00 %" in with_clean and "unexplained" in with_clean
    assert report.gap_finding(gaps.iloc[1:], None).startswith("*No recorded cell")  # other labels only


def detection_frames(aucs: dict[tuple[str, int], list[float]], cleanlab_f1: float | None = 0.8):
    """Summaries and epochs of MNIST runs at sym 0.8: (loss, seed) -> AUC (loss) per epoch (the margin's
    0.01 lower); test accuracy 0.9 for ANL-CE, 0.95 for the others; confident learning's F1 ``cleanlab_f1``."""
    summaries, epochs = [], []
    for (loss, seed), values in aucs.items():
        key = f"{loss}-{seed}"
        summaries.append({"key": key, "dataset": "mnist", "loss": loss, "noise": "sym:0.8", "seed": seed,
                          "final_test_acc": 0.9 if loss == "anl_ce" else 0.95,
                          "confident_learning": None if cleanlab_f1 is None else
                          {"f1": cleanlab_f1, "precision": 0.9, "recall": None}})
        epochs += [{"key": key, "epoch": epoch + 1, "mislabel_auc_loss": value, "mislabel_auc_margin": value - 0.01}
                   for epoch, value in enumerate(values)]
    return pd.DataFrame(summaries), pd.DataFrame(epochs)


def test_detection_runs_take_the_last_and_best_auc_and_leave_out_records_without_the_fields():
    summaries, epochs = detection_frames({("anl_ce", 1): [0.7, 0.99, 0.95], ("anl_ce", 2): [0.8, 0.97, 0.93],
                                          ("ce", 1): [0.9, 0.8, 0.6]})
    old = pd.DataFrame([{"key": "old", "epoch": 1, "mislabel_auc_loss": np.nan, "mislabel_auc_margin": np.nan}])
    runs = report.detection_runs(summaries, pd.concat([epochs, old]))
    assert list(runs["key"]) == ["anl_ce-1", "anl_ce-2", "ce-1"]
    first = runs.iloc[0]
    assert (first["last_auc_loss"], first["best_auc_loss"], first["best_auc_epoch"]) == (0.95, 0.99, 2)
    assert round(first["last_auc_margin"], 6) == 0.94 and first["cleanlab_f1"] == 0.8 and np.isnan(first["cleanlab_recall"])
    assert report.detection_runs(summaries, epochs.drop(columns=["mislabel_auc_loss"])).empty  # records before the fields
    assert report.detection_runs(None, None).empty
    table = report.detection_table(runs)
    table.index = table.index.str.replace("\u2011", "-")
    anl = table.loc["ANL-CE"]
    assert (anl["seeds"], anl["AUC (loss), last"], anl["AUC (loss), best"]) == (
        2, f"0.940{report.PLUS_MINUS}0.014", f"0.980{report.PLUS_MINUS}0.014")
    assert anl["best AUC at epoch"] == "2" and table.loc["CE", "AUC (loss), last"] == "0.600"  # one seed: no std
    assert table.loc["CE", "cleanlab recall"] == "–"
    # the best detector (ANL-CE) is not the most accurate (CE), and CE lost most of its AUC to memorisation
    finding, = report.detection_finding(runs)
    assert "best detector at the last epoch is ANL-CE (AUC 0.940, 0.040 under its best epoch)" in finding
    assert "not the most accurate loss (CE, 95.00 %)" in finding and "one seed: indicative" in finding


def reference_records(noise: str, folds: range, wrong_flagged: bool = True) -> list[dict]:
    """Held-out-fold records of one 2-fold setting of 8 images (4 classes, 2 mislabelled), as far as
    the joining reads them: the probabilities sure of the true class (``wrong_flagged``) or of the given one."""
    true, given = np.array([0, 1, 2, 3, 0, 1, 2, 3]), np.array([0, 1, 2, 3, 1, 1, 2, 0])
    sure_of = true if wrong_flagged else given
    probabilities = np.full((8, 4), 0.01)
    probabilities[np.arange(8), sure_of] = 0.97
    return [{"config": {"dataset": "mnist", "loss": "ce", "noise": noise, "seed": 1, "holdout_folds": 2,
                        "holdout_fold": fold, "holdout_seed": 0},
             "noise": {"transition": np.eye(4).tolist()},
             "held_out": {"sample_size": 8, "indices": list(range(fold, 8, 2)), "given": given[fold::2].tolist(),
                          "true": true[fold::2].tolist(),
                          "probabilities": detection.encode_probabilities(probabilities[fold::2])}}
            for fold in folds]


def test_out_of_sample_runs_join_complete_settings_only_and_sit_beside_the_in_sample_f1():
    records = [*reference_records("sym:0.8", range(2)), *reference_records("asym:0.4", range(1))]  # asym: 1 of 2
    reference = report.out_of_sample_runs([*records, {"config": {"dataset": "mnist", "seed": 4}}])
    assert list(reference["noise"]) == ["sym:0.8"] and reference.iloc[0]["folds"] == 2
    assert (reference.iloc[0]["cleanlab_f1"], reference.iloc[0]["cleanlab_precision"]) == (1.0, 1.0)
    memorised = report.out_of_sample_runs(reference_records("sym:0.8", range(2), wrong_flagged=False))
    assert memorised.iloc[0]["cleanlab_recall"] == 0.0  # probabilities that agree with the given labels flag none
    summaries, epochs = detection_frames({("anl_ce", 4): [0.9], ("anl_ce", 5): [0.9], ("ce", 4): [0.8]}, cleanlab_f1=0.5)
    table = report.out_of_sample_table(report.detection_runs(summaries, epochs), reference, ["sym:0.8", "asym:0.4"])
    table.index = table.index.str.replace("\u2011", "-")
    assert list(table.index) == ["in-sample, ANL-CE", "in-sample, CE", "out-of-sample (2 folds), CE",
                                 "out-of-sample reference"]
    assert table.loc["in-sample, ANL-CE", "seeds"] == "4, 5" and table.loc["in-sample, CE", "cleanlab F1, last"] == "0.500"
    assert table.loc["out-of-sample (2 folds), CE", "cleanlab F1, last"] == "1.000"
    assert table.loc["out-of-sample reference", "cleanlab F1, last"] == "still to run"  # asym 0.4: a fold missing


def test_shorter_protocol_is_adopted_only_within_the_bound_and_with_the_same_ranking():
    long = summaries([("ce", "sym:0.8", 1, 0.20), ("anl_ce", "sym:0.8", 1, 0.62), ("nce_rce", "sym:0.8", 1, 0.55)])
    close = summaries([("ce", "sym:0.8", 1, 0.21), ("anl_ce", "sym:0.8", 1, 0.605), ("nce_rce", "sym:0.8", 1, 0.56)])
    check = report.shorter_protocol_check(long, close, tolerance=0.02)
    assert check.adopted and check.complete
    assert check.worst["loss"] == "anl_ce" and round(100 * check.worst["difference"], 6) == -1.5
    assert check.verdict("120-epoch", "40-epoch").startswith("**Adopted**")
    far = close.assign(final_test_acc=[0.21, 0.58, 0.56])  # ANL-CE 4 points lower: still ranked first
    rejected = report.shorter_protocol_check(long, far, tolerance=0.02)
    assert not rejected.adopted and rejected.same_ranking == {"sym:0.8": True}
    assert "-4.00 points (ANL-CE, sym 0.8), beyond the 2-point bound" in rejected.verdict("120-epoch", "40-epoch")
    swapped = close.assign(final_test_acc=[0.21, 0.555, 0.56])  # NCE+RCE now ahead of ANL-CE
    reordered = report.shorter_protocol_check(long, swapped, tolerance=0.10)
    assert not reordered.adopted and "the ranking changes at sym 0.8" in reordered.verdict("long", "short")


def test_shorter_protocol_is_not_judged_on_missing_runs():
    long = summaries([("ce", "sym:0.8", 1, 0.20), ("anl_ce", "sym:0.8", 1, 0.62)])
    short = summaries([("ce", "sym:0.8", 1, 0.20)])
    check = report.shorter_protocol_check(long, short, tolerance=0.02)
    assert not check.complete and not check.adopted and check.missing == ("ANL-CE sym 0.8 (short)",)
    assert check.verdict("long", "short").startswith("Not judged yet: 1 of the runs")
    with pytest.raises(ValueError, match="tolerance must be > 0, got 0"):
        report.shorter_protocol_check(long, short, tolerance=0)


def test_shorter_protocol_is_rejected_before_every_run_is_recorded():
    """One loss beyond the bound, or two recorded losses in swapped places, rejects the protocol
    whatever the runs still missing show; within the bound it waits for them."""
    cells = [("sym:0.8", loss) for loss in ("ce", "nce_rce", "anl_ce", "anl_fl")]
    long = summaries([("anl_ce", "sym:0.8", 1, 0.62), ("nce_rce", "sym:0.8", 1, 0.55)])
    far = report.shorter_protocol_check(long, summaries([("anl_ce", "sym:0.8", 1, 0.585)]), 0.02, cells=cells)
    assert far.rejected and not far.adopted and len(far.missing) == 5  # CE and ANL-FL both, NCE+RCE short
    assert far.verdict("long", "short").startswith("**Rejected**: the largest difference is -3.50 points (ANL-CE")
    assert "5 of the runs the rule needs are not recorded" in far.verdict("long", "short")
    swapped = summaries([("anl_ce", "sym:0.8", 1, 0.61), ("nce_rce", "sym:0.8", 1, 0.615)])
    assert report.shorter_protocol_check(long, swapped, 0.02, cells=cells).rejected  # both within 2 points
    close = summaries([("anl_ce", "sym:0.8", 1, 0.61), ("nce_rce", "sym:0.8", 1, 0.555)])
    waiting = report.shorter_protocol_check(long, close, 0.02, cells=cells)
    assert not waiting.rejected and not waiting.adopted and waiting.missing == (
        "CE sym 0.8 (long)", "CE sym 0.8 (short)", "ANL-FL sym 0.8 (long)", "ANL-FL sym 0.8 (short)")
    assert waiting.verdict("long", "short").endswith(
        "So far every recorded loss is within 2 points and ranked the same; the largest difference is "
        "-1.00 points (ANL-CE, sym 0.8).")


def test_precision_comparison_sets_the_precision_shift_beside_the_seed_spread():
    rows = [("anl_ce", "sym:0.8", 1, "bf16", 0.7844, 0.0568), ("anl_ce", "sym:0.8", 1, None, 0.7847, 0.0574),
            ("anl_ce", "sym:0.8", 2, None, 0.8015, 0.0523), ("ce", "sym:0.8", 1, "bf16", 0.2286, 0.9960),
            ("ce", "sym:0.8", 1, None, 0.2278, 0.9959), ("ce", "sym:0.8", 2, None, 0.2416, 0.9962)]
    runs = pd.DataFrame(rows, columns=["loss", "noise", "seed", "precision", "final_test_acc", "final_noisy_acc_given"])
    check = report.precision_comparison(runs, "bf16", seed=1, other_seed=2)
    nobreak = "ANL\u2011CE\u00a0sym\u00a00.8"  # a run's name never wraps
    assert list(check.table.index) == [nobreak, nobreak, "CE\u00a0sym\u00a00.8", "CE\u00a0sym\u00a00.8"]  # as they came
    assert list(check.table["last epoch (%)"]) == ["test accuracy", "memorisation"] * 2
    anl = check.table.iloc[0]
    assert (anl["bf16, seed 1"], anl["fp32, seed 1"], anl["fp32, seed 2"], anl["bf16 − fp32"],
            anl["seed 2 − seed 1 (fp32)"]) == ("78.44", "78.47", "80.15", "-0.03", "+1.68")
    assert check.shift == pytest.approx(0.08) and check.spread == pytest.approx(1.68)  # CE's accuracy, ANL-CE's
    assert check.finding("bf16") == ("bf16 moves every number by at most 0.08 points; on the same settings a "
                                     "second fp32 seed moves them by up to 1.68 points.")
    with pytest.raises(ValueError, match="no fp32 run of ce at sym:0.8 with seed 2"):
        report.precision_comparison(runs.drop(index=5), "bf16", seed=1, other_seed=2)
    with pytest.raises(ValueError, match="no bf16 run with seed 3"):
        report.precision_comparison(runs, "bf16", seed=3, other_seed=2)


def test_every_augmentation_has_a_name_in_the_book():
    assert set(report.AUGMENTATION_NAMES) == set(AUGMENTATIONS)


def test_published_order_says_whether_our_ranking_is_the_papers():
    ours = summaries([("anl_ce", "sym:0.8", 1, 0.5937), ("nce_rce", "sym:0.8", 1, 0.4971), ("ce", "sym:0.8", 1, 0.20)])
    def paper(loss_names: list[str], noise: str = "sym:0.8", **fields) -> list[RunConfig]:
        return [cifar10_paper(loss, noise, **fields) for loss in loss_names]
    assert report.published_order(ours, paper(["ce", "nce_rce", "anl_ce", "anl_fl"]), "sym:0.8") == (
        "At sym 0.8, last epoch: ours ANL-CE\u00a059.37 > NCE+RCE\u00a049.71 > CE\u00a020.00; "
        "published ANL-CE\u00a062.28 > NCE+RCE\u00a054.99 > CE\u00a019.74: the same order.")
    swapped = ours.assign(final_test_acc=[0.50, 0.55, 0.20])
    assert report.published_order(swapped, paper(["nce_rce", "anl_ce"]), "sym:0.8").endswith("**a different order**.")
    assert report.published_order(ours, paper(["anl_ce"]), "sym:0.8") is None  # one loss has no order
    assert report.published_order(ours, paper(["ce", "anl_ce"], "clean"), "clean") is None  # nothing published at clean
    assert report.published_order(ours, paper(["ce", "anl_ce"], epochs=40), "sym:0.8") is None  # another protocol
    mnist = experiments.product("mnist", ["ce", "anl_ce"], ["sym:0.8"], [1])
    assert report.published_order(ours, mnist, "sym:0.8") is None  # CIFAR-10's numbers only


def test_noise_cells_group_a_grid_by_noise_setting_in_order_of_appearance():
    grid = experiments.product("cifar10", ["anl_ce", "nce_rce"], ["asym:0.4", "sym:0.4"], [1, 2])
    grid += experiments.product("cifar10", ["ce"], ["asym:0.4", "clean"], [1])
    assert report.noise_cells(grid) == [("asym:0.4", "anl_ce"), ("asym:0.4", "nce_rce"), ("asym:0.4", "ce"),
                                        ("sym:0.4", "anl_ce"), ("sym:0.4", "nce_rce"), ("clean", "ce")]


def test_realised_noise_rates_average_the_runs_of_each_setting():
    runs = pd.DataFrame({"noise": ["idn:0.4", "sym:0.8", "idn:0.4"], "noise_rate": [0.38, 0.7992, 0.40]})
    rates = report.realised_noise_rates(runs)
    assert list(rates.index) == ["idn:0.4", "sym:0.8"] and rates.round(6).tolist() == [0.39, 0.7992]
    assert rates.idxmax() == "sym:0.8"


def test_run_status_names_the_runs_still_missing():
    grid = experiments.product("cifar10", ["anl_ce", "nce_rce"], ["cifar10n:worst"], [1])
    assert report.run_status("120 epochs", grid, grid[1:]) == (
        "- 120 epochs: 1 of 2 runs recorded; still to run: NCE+RCE cifar10n worst seed 1.")
    assert report.run_status("120 epochs", grid, []) == "- 120 epochs: 2 of 2 runs recorded."
    folds = experiments.grid("mnist-detection-reference")
    assert report.run_status("reference", folds, folds[6:]) == (
        "- reference: 6 of 8 runs recorded; still to run: CE asym 0.4 seed 1 fold 2, CE asym 0.4 seed 1 fold 3.")


# ----------------------------------------------------------------------------- README tables
def test_grid_results_gives_the_recorded_runs_beside_the_published_numbers_and_counts_the_rest(store):
    anl_ce = next(config for config in experiments.grid("cifar10-paper") if config.loss == "anl_ce")
    assert report.grid_results("cifar10-paper", store.root) == "Grid `cifar10-paper`: 0 of 4 runs recorded."
    store.write(fake_record(anl_ce, 0.60, source="/d/cifar10-jpeg.tar.gz (JPEG q75 copy of CIFAR-10)"))
    text = report.grid_results("cifar10-paper", store.root)
    lines = text.splitlines()
    assert lines[0] == "Grid `cifar10-paper`: 1 of 4 runs recorded."
    assert "| ANL-CE | sym 0.8 | 60.00 | 65.00 | 20.00 | 1 | 62.28 | -2.28 |" in lines  # plain hyphens
    assert "| CE | sym 0.8 | – | – | – | 0 | 19.74 | – |" in lines
    rows = [line.split(" | ")[0] for line in lines if line.startswith("| ") and "sym 0.8" in line]
    assert rows == ["| CE", "| NCE+RCE", "| ANL-CE", "| ANL-FL"]  # the registry's order, not the grid's
    assert any(line.startswith("Published: ") and report.PUBLISHED_SOURCE in line for line in lines)
    assert "CIFAR-10 (JPEG q75 copy)" in text
    assert "\u00a0" not in text and "\u2011" not in text
    mnist = experiments.grid("mnist-full")[0]
    store.write(fake_record(mnist, 0.97))
    text = report.grid_results("mnist-full", store.root)
    assert report.PUBLISHED_LABEL not in text and "Published:" not in text  # CIFAR-10's numbers only


def test_refresh_readme_rewrites_only_the_results_blocks(store):
    config = experiments.grid("cifar10-paper")[0]
    store.write(fake_record(config, 0.5))
    text = ("# Title\n\nIntro stays.\n\n<!-- results: cifar10-paper -->\nstale table\n<!-- end results -->\n\n"
            "Outro stays.\n")
    fresh = report.refresh_readme(text, store.root)
    assert fresh.startswith("# Title\n\nIntro stays.\n\n<!-- results: cifar10-paper -->\nGrid `cifar10-paper`: 1 of 4")
    assert fresh.endswith("<!-- end results -->\n\nOutro stays.\n") and "stale table" not in fresh
    assert report.refresh_readme(fresh, store.root) == fresh
    with pytest.raises(ValueError, match="cifar10-huge"):
        report.refresh_readme("<!-- results: cifar10-huge -->\n<!-- end results -->", store.root)
    with pytest.raises(ValueError, match="'isic-reduced' is not a classification grid; a results block takes one of "
                                         "mnist-reduced, "):
        report.refresh_readme("<!-- results: isic-reduced -->\n<!-- end results -->", store.root)
    # a start without its end would swallow the next block; a file without blocks is not a README of results
    unterminated = "<!-- results: cifar10-paper -->\nA\n<!-- results: mnist-full -->\nB\n<!-- end results -->\n"
    for broken, found in ((unterminated, "2 starts and 1 ends"), ("# Title\n", "0 starts and 0 ends")):
        with pytest.raises(ValueError, match=found):
            report.refresh_readme(broken, store.root)


def test_the_readme_results_tables_match_the_committed_records():

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "<!-- results: cifar10-paper -->" in text
    assert report.refresh_readme(text) == text, "the README's results tables are stale: run make readme"


def test_the_readme_command_checks_and_rewrites_a_file(store, tmp_path, capsys):
    from anl.cli import main

    store.write(fake_record(experiments.grid("cifar10-paper")[0], 0.5))
    readme = tmp_path / "README.md"
    readme.write_text("<!-- results: cifar10-paper -->\n<!-- end results -->\n", encoding="utf-8")
    arguments = ["readme", "--file", str(readme), "--results", str(store.root)]
    with pytest.raises(SystemExit) as stale:
        main([*arguments, "--check"])
    assert stale.value.code == 1 and "differ from the records" in capsys.readouterr().err
    assert main(arguments) == 0 and "1 of 4 runs recorded" in readme.read_text(encoding="utf-8")
    assert main([*arguments, "--check"]) == 0 and "match the records" in capsys.readouterr().out
    with pytest.raises(SystemExit) as missing:
        main(["readme", "--file", str(tmp_path / "missing.md")])
    assert missing.value.code == 2 and "error: no README at" in capsys.readouterr().err
