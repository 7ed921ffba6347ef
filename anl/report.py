"""Helpers the book's notebooks share: the runs a parameter set names (trained when missing; image
classification or ISIC segmentation), a protocol sentence drawn from the run records, accuracy tables (mean +- std in %) and the published
numbers (anl-method.md section 6), kept as data with their source.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from anl import data, losses, noise
from anl.results import ResultsStore, load_results, load_summaries
from anl.segmentation import SegmentationConfig, train_segmentation_sweep
from anl.train import RunConfig, train_sweep

DATASET_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10",
                 "cifar100": "CIFAR-100", "webvision": "WebVision"}
SHORT_CLASS_NAMES = {"airplane": "plane", "automobile": "car", "T-shirt/top": "T-shirt", "Ankle boot": "boot"}
NOISE_KINDS = {"clean": "clean", "sym": "symmetric", "asym": "asymmetric", "pairflip": "pair-flip",
               "idn": "instance-dependent", "cifar10n": "CIFAR-10N human"}
PUBLISHED_LABEL = "published (JAL paper re-report)"
PUBLISHED_SOURCE = ("Last-epoch test accuracy (%) of the 8-layer CNN on the original CIFAR-10, from the ANL "
                    "paper as re-reported by the ICCV 2025 Joint Asymmetric Loss (JAL) paper; no std published")
PUBLISHED_DATASET = "cifar10"
PUBLISHED: dict[tuple[str, str], float] = {
    ("ce", "sym:0.4"): 58.05, ("ce", "sym:0.8"): 19.74, ("ce", "asym:0.2"): 83.05, ("ce", "asym:0.4"): 73.85,
    ("nce_rce", "sym:0.4"): 85.89, ("nce_rce", "sym:0.8"): 54.99, ("nce_rce", "asym:0.2"): 88.62,
    ("nce_rce", "asym:0.4"): 77.94,
    ("anl_ce", "sym:0.4"): 87.16, ("anl_ce", "sym:0.8"): 62.28, ("anl_ce", "asym:0.2"): 89.09,
    ("anl_ce", "asym:0.4"): 77.99,
    ("anl_fl", "sym:0.4"): 86.94, ("anl_fl", "sym:0.8"): 61.89, ("anl_fl", "asym:0.2"): 89.29,
    ("anl_fl", "asym:0.4"): 77.89,
    ("anl_ce", "idn:0.4"): 85.74, ("anl_ce", "idn:0.6"): 69.83, ("anl_fl", "cifar10n:worst"): 80.56,
}


# ----------------------------------------------------------------------------- names
def dataset_label(dataset: str, source: str = "") -> str:
    """"MNIST", "CIFAR-10 (JPEG q75 copy)" when the data source is the JPEG copy, ..."""
    name = DATASET_NAMES.get(dataset, dataset)
    return f"{name} (JPEG q75 copy)" if "JPEG" in source else name


def class_names(dataset: str) -> list[str]:
    """Short class names of a data set for figure axes ("plane", "car", ... for CIFAR-10)."""
    names = {"mnist": data.MNIST_CLASSES, "fashion_mnist": data.FASHION_MNIST_CLASSES,
             "cifar10": data.CIFAR10_CLASSES}
    if dataset not in names:
        raise ValueError(f"no class names for {dataset!r}; valid: {', '.join(names)}")
    return [SHORT_CLASS_NAMES.get(name, name) for name in names[dataset]]


def noise_label(spec: str) -> str:
    """"clean" -> "clean", "sym:0.4" -> "sym 0.4", "cifar10n:worst" -> "cifar10n worst"."""
    return spec.replace(":", " ")


def noise_kind_label(spec: str) -> str:
    """"sym:0.4" -> "symmetric", "asym:0.2" -> "asymmetric", "idn:0.4" -> "instance-dependent", ..."""
    kind = spec.partition(":")[0]
    return NOISE_KINDS.get(kind, kind)


def noise_rate(spec: str) -> float:
    """Nominal rate of a spec: 0 for clean, the number after the colon for sym/asym/pairflip/idn."""
    kind, _, parameter = spec.partition(":")
    if kind == "clean":
        return 0.0
    try:
        return float(parameter)
    except ValueError:
        raise ValueError(f"noise {spec!r} has no numeric rate; valid: clean or KIND:RATE, e.g. sym:0.4") from None


def mask_noise_label(spec: str) -> str:
    """"clean"; "boundary:1:8-16" -> "boundary 8-16 px, all masks"; "shift:0.5:8" -> "shift 1-8 px,
    50 % of masks"; "coarse:1:ellipse" -> "coarse (ellipse), all masks" (pixels at 256x192)."""
    parsed = noise.parse_mask_noise(spec)
    if parsed.kind == "clean":
        return "clean"
    detail = f"({parsed.shape})" if parsed.kind == "coarse" else f"{parsed.low}-{parsed.high} px"
    share = "all masks" if parsed.fraction == 1 else f"{100 * parsed.fraction:g} % of masks"
    return f"{parsed.kind} {detail}, {share}"


# ----------------------------------------------------------------------------- runs
@dataclass(frozen=True)
class RunSet:
    """Exactly the runs a notebook asked for: one summary row per run (in the order asked), one
    row per run and epoch, and the raw records (for provenance)."""

    summaries: pd.DataFrame
    epochs: pd.DataFrame
    records: tuple[dict[str, Any], ...]

    def protocol(self) -> str:
        if all(record["config"]["dataset"] == "isic2017" for record in self.records):
            return segmentation_protocol_sentence(self.records)
        return protocol_sentence(self.records)


def load_runs(configs: Sequence[RunConfig] | Sequence[SegmentationConfig],
              results_dir: str | os.PathLike[str] | None = None, *, train: bool = True,
              device: str | None = None) -> RunSet:
    """The records of ``configs`` from the store at ``results_dir`` (default: the repository's
    results/), matched by their ``key`` (canonical: overrides restating the preset, or written 1
    for 1.0, give the same key), in the order of ``configs`` (duplicates once). Missing runs are
    trained first (progress bars on) when ``train``, by :func:`anl.train.train_sweep`, or
    :func:`anl.segmentation.train_segmentation_sweep` for segmentation configs; else a
    ValueError names them."""
    if not configs:
        raise ValueError("no runs requested: the parameters name no loss, noise setting or seed")
    store = ResultsStore(results_dir)
    wanted = {config.key: config for config in configs}
    missing = [config for key, config in wanted.items() if not store.has(key)]
    if missing and not train:
        names = "; ".join(f"{c.loss} {c.noise} seed {c.seed}" for c in missing[:5])
        raise ValueError(f"{len(missing)} of {len(wanted)} runs are not in {store.runs} (e.g. {names}); "
                         f"set train=True to train them")
    if missing:
        segmentation = [isinstance(config, SegmentationConfig) for config in missing]
        if any(segmentation) and not all(segmentation):
            raise ValueError("load_runs takes classification or segmentation runs, not both at once")
        sweep = train_segmentation_sweep if all(segmentation) else train_sweep
        sweep(missing, store, device=device, progress=True)
    order = {key: index for index, key in enumerate(wanted)}
    summaries = _select(load_summaries(store.root), order)
    epochs = _select(load_results(store.root), order, "epoch")
    return RunSet(summaries, epochs, tuple(store.read(key) for key in order))


def _select(frame: pd.DataFrame, order: Mapping[str, int], *then: str) -> pd.DataFrame:
    rows = frame[frame["key"].isin(order)].copy()
    rows["run_index"] = rows["key"].map(order)
    return rows.sort_values(["run_index", *then]).drop(columns="run_index").reset_index(drop=True)


# ----------------------------------------------------------------------------- protocol
def _values(items: Iterable[Any], sort: bool = True) -> str:
    """Distinct values joined by ", ": sorted, or in order of first appearance."""
    distinct = list(dict.fromkeys(items))
    if sort:
        distinct.sort(key=lambda item: (str(type(item)), item))
    return ", ".join(f"{item:g}" if isinstance(item, float) else str(item) for item in distinct)


def _weight_decays(configs: Sequence[Mapping[str, Any]]) -> str:
    """L2 weight decay per loss family: "0.001 (baselines), 0 (ANL family)"."""
    families = {"baselines": [c["weight_decay"] for c in configs if not c["loss"].startswith("anl")],
                "ANL family": [c["weight_decay"] for c in configs if c["loss"].startswith("anl")]}
    return ", ".join(f"{_values(decays)} ({family})" for family, decays in families.items() if decays)


def _provenance_clause(provenance: Sequence[Mapping[str, Any]]) -> str:
    """"trained on cpu (1 thread), code 0123abc, 1.50 h of training in total." from the records'
    provenance: devices (threads on CPU), commits (marked when anl/ had local changes), wall time."""
    devices = _values(f"{p['device_name']} ({p['threads']} thread{'s' * (p['threads'] != 1)})"
                      if p["device"] == "cpu" else p["device_name"] for p in provenance)
    shas = _values(p["git_sha"][:7] + ("+local changes" if p.get("git_dirty") else "") for p in provenance)
    hours = sum(p["wall_time_s"] for p in provenance) / 3600
    return f"trained on {devices}, code {shas}, {hours:.2f} h of training in total."


def protocol_label(epochs: int | None, train_subset: int | None) -> str:
    """A short name for a run protocol: "paper" (all training images, the data set's epochs), else
    "reduced: <images>, <epochs> epochs"."""
    if epochs is None and train_subset is None:
        return "paper"
    images = "all images" if train_subset is None else f"{train_subset:,} images"
    return f"reduced: {images}, {'paper' if epochs is None else epochs} epochs"


def protocol_sentence(records: Sequence[Mapping[str, Any]]) -> str:
    """One Markdown paragraph stating where a page's numbers come from, drawn from the run records:
    data set (and whether it is the JPEG copy), model, training-set size, test-set size, epochs,
    batch, optimiser, weight decay, seeds, noise settings, device, threads, code version and wall time."""
    if not records:
        raise ValueError("protocol_sentence needs at least one run record, got none")
    configs = [record["config"] for record in records]
    provenance = [record["provenance"] for record in records]
    datasets = _values(dataset_label(c["dataset"], p.get("data_source", "")) for c, p in zip(configs, provenance))
    train_sizes = _values(f"{record['noise']['train_size']:,}" for record in records)
    subsets = [bool(c["train_subset"]) for c in configs]
    subset = ("stratified training subset of " if all(subsets) else "full training set, " if not any(subsets)
              else "full training set or a stratified subset of it, ")
    test_sizes = _values(f"{int(np.sum(r['summary']['test_confusion'])):,}" for r in records)
    return (
        f"**Protocol, read from the {len(records)} run records:** {datasets}; model {_values(c['model'] for c in configs)}; "
        f"{subset}{train_sizes} images; {test_sizes} test images; {_values(c['epochs'] for c in configs)} epochs, "
        f"batch {_values(c['batch_size'] for c in configs)}, SGD (momentum 0.9) lr {_values(c['lr'] for c in configs)} "
        f"with cosine schedule, gradient clip {_values(c['grad_clip'] for c in configs)}, augmentation "
        f"{_values(c['augment'] for c in configs)}, L2 weight decay {_weight_decays(configs)}; "
        f"seeds {_values(c['seed'] for c in configs)}; "
        f"noise {_values((noise_label(c['noise']) for c in configs), sort=False)}; "
        f"{_provenance_clause(provenance)}"
    )


def segmentation_protocol_sentence(records: Sequence[Mapping[str, Any]]) -> str:
    """The protocol paragraph of segmentation runs (anl.segmentation), from their records: training
    size, U-Net width and depth, training images, epochs, batch, optimiser, weight decay per
    family, seeds, mask noise, device, code version and wall time."""
    if not records:
        raise ValueError("segmentation_protocol_sentence needs at least one run record, got none")
    configs = [record["config"] for record in records]
    provenance = [record["provenance"] for record in records]
    sizes = _values(f"{c['size'][0]}x{c['size'][1]}" for c in configs)
    train_sizes = _values(f"{record['noise']['train_size']:,}" for record in records)
    return (
        f"**Protocol, read from the {len(records)} run records:** ISIC 2017 Part 1 (official splits), "
        f"{train_sizes} training images at {sizes} "
        f"(evaluated at 256x192 against the clean masks); U-Net of base width {_values(c['base_width'] for c in configs)} "
        f"and {_values(c['levels'] for c in configs)} levels; {_values(c['epochs'] for c in configs)} epochs, batch "
        f"{_values(c['batch_size'] for c in configs)}, Adam lr {_values(c['lr'] for c in configs)} with cosine schedule, "
        f"gradient clip {_values(c['grad_clip'] for c in configs)}, random flips, L2 weight decay "
        f"{_weight_decays(configs)}; loss presets of {_values(c['loss_preset'] for c in configs)}; "
        f"seeds {_values(c['seed'] for c in configs)}; "
        f"mask noise {_values((mask_noise_label(c['noise']) for c in configs), sort=False)}; "
        f"{_provenance_clause(provenance)}"
    )


def data_protocol(datasets: Iterable[Any], seed: int) -> str:
    """One Markdown sentence naming the data sets a page's labels come from (name, training-set
    size, file format read, from each ImageDataset's ``source``) and the noise seed."""
    parts = [f"{dataset_label(dataset.name, dataset.source)} training labels ({len(dataset.train_labels):,} images, "
             f"read as {dataset.source.rsplit(' (', 1)[-1].rstrip(')')})" for dataset in datasets]
    if not parts:
        raise ValueError("data_protocol needs at least one data set, got none")
    return f"**Data, read from the files:** {'; '.join(parts)}; noise seed {seed}."


# ----------------------------------------------------------------------------- tables
def mean_std(frame: pd.DataFrame, metric: str, by: Sequence[str]) -> pd.DataFrame:
    """mean, std (ddof 1; NaN for one run) and n of ``metric`` per group, groups in order of appearance."""
    grouped = frame.groupby(list(by), sort=False)[metric]
    return grouped.agg(mean="mean", std="std", n="count").reset_index()


PLUS_MINUS = "\u00a0±\u00a0"


def format_mean_std(mean: float, std: float, scale: float = 100.0, decimals: int = 2) -> str:
    """"87.16 ± 0.35" (scaled), with no-break spaces around ± so that a table cell never wraps
    inside it; the mean alone when std is NaN (one run); "–" when mean is NaN."""
    if np.isnan(mean):
        return "–"
    text = f"{mean * scale:.{decimals}f}"
    return text if np.isnan(std) else f"{text}{PLUS_MINUS}{std * scale:.{decimals}f}"


def predicted_share_divergence(confusion: Sequence[Sequence[int]]) -> float:
    """KL(p ‖ q) = sum_k p_k log(p_k / q_k) between the predicted class shares p (column sums) and
    the true class shares q (row sums) of a confusion matrix, with 0 log 0 = 0: how far a model's
    predictions are from the class balance of the data."""
    confusion = np.asarray(confusion, dtype=float)
    predicted, true = confusion.sum(0) / confusion.sum(), confusion.sum(1) / confusion.sum()
    seen = predicted > 0
    if np.any(true[seen] == 0):
        raise ValueError("a class is predicted but absent from the true labels: KL(predicted ‖ true) is infinite")
    return float(np.sum(predicted[seen] * np.log(predicted[seen] / true[seen])))


def ranked_finding(runs: pd.DataFrame, setting: str, name: Callable[[Any], str]) -> str:
    """One sentence on the runs' last epoch by ``setting`` (in order of appearance, means over
    seeds): "X ends highest (a % test accuracy, m % of the wrong labels fitted); Y b % (n %); ...",
    the settings named by ``name``; the first of equal bests counts as the highest."""
    means = runs.groupby(setting, sort=False)[["final_test_acc", "final_noisy_acc_given"]].mean() * 100
    best = means["final_test_acc"].idxmax()
    rest = "; ".join(f"{name(value)} {row['final_test_acc']:.1f}\u00a0% ({row['final_noisy_acc_given']:.1f}\u00a0%)"
                     for value, row in means.drop(best).iterrows())
    return (f"{name(best)} ends highest ({means.loc[best, 'final_test_acc']:.1f}\u00a0% test accuracy, "
            f"{means.loc[best, 'final_noisy_acc_given']:.1f}\u00a0% of the wrong labels fitted)" + (f"; {rest}." if rest else "."))


def loss_ranking(summaries: pd.DataFrame, noise: str, metric: str,
                 loss_names: Sequence[str] | None = None) -> pd.Series:
    """Mean ``metric`` per loss over the runs at ``noise``, best first (ties in order of appearance);
    only the losses of ``loss_names`` when given. Losses without such runs are left out."""
    means = summaries[summaries["noise"] == noise].groupby("loss", sort=False)[metric].mean()
    if loss_names is not None:
        means = means.reindex(loss_names)
    return means.dropna().sort_values(ascending=False, kind="stable")


def section_runs(frame: pd.DataFrame, entries: Sequence[tuple[Any, RunConfig]], label: str) -> pd.DataFrame:
    """The rows of ``frame`` (summaries or epochs, with a ``key`` column) of the runs of ``entries``
    ((setting, config) pairs, as :func:`ablation_configs` gives them), with each run's setting in a
    new column ``label``; a run listed under two settings keeps the first."""
    settings = pd.DataFrame([(config.key, setting) for setting, config in entries], columns=["key", label])
    return frame.merge(settings.drop_duplicates("key"), on="key")


def optimiser_steps(frame: pd.DataFrame, epochs: str = "epoch") -> pd.Series:
    """Optimiser steps taken in ``frame[epochs]`` epochs: epochs x ceil(train_size / batch_size)
    (the last, smaller batch of an epoch is a step too). ``epochs="epochs"`` gives a run's total."""
    return frame[epochs] * np.ceil(frame["train_size"] / frame["batch_size"]).astype(int)


def protocol_table(summaries: pd.DataFrame,
                   metrics: Sequence[str] = ("final_test_acc", "best_test_acc", "final_noisy_acc_given")) -> pd.DataFrame:
    """One row per loss x noise x protocol (training images, epochs), in order of appearance, indexed
    by loss name: the images as a multiple of the first protocol of that loss and noise, the
    optimiser steps and their multiple of the first protocol's; each of ``metrics`` (headers of RUN_SCORES) as "mean ± std" in %, the first one
    followed by the change of its mean from that first protocol in percentage points ("–" there)."""
    by = ["loss", "noise", "train_size", "epochs", "steps"]
    frame = summaries.assign(steps=optimiser_steps(summaries, "epochs"))
    stats = {metric: mean_std(frame, metric, by) for metric in metrics}
    rows = stats[metrics[0]]
    groups = rows.groupby(["loss", "noise"], sort=False)
    first = groups[["train_size", "steps", "mean"]].transform("first")
    change = ["–" if first_row else f"{100 * delta:+.1f}"
              for first_row, delta in zip(groups.cumcount() == 0, rows["mean"] - first["mean"])]
    columns = {"noise": rows["noise"].map(noise_label),
               "images × epochs": [f"{size:,}\u00a0×\u00a0{length}" for size, length in zip(rows["train_size"], rows["epochs"])],
               "× images": (rows["train_size"] / first["train_size"]).map("{:.1f}".format),
               "optimiser steps (× first)": [f"{steps:,}\u00a0(×{steps / base:.1f})"
                                             for steps, base in zip(rows["steps"], first["steps"])]}
    for index, metric in enumerate(metrics):
        columns[RUN_SCORES[metric][0]] = [format_mean_std(m, s, decimals=1)
                                          for m, s in zip(stats[metric]["mean"], stats[metric]["std"])]
        if index == 0:
            columns["change (points)"] = change
    table = pd.DataFrame(columns)
    table.index = pd.Index([losses.display_name(loss) for loss in rows["loss"]], name="loss")
    return table


def run_dynamics(epochs: pd.DataFrame, convergence_fraction: float = 0.95) -> pd.DataFrame:
    """One row per run of the per-epoch rows ``epochs`` (key, loss, noise, seed, in order of
    appearance): ``converged``, the first epoch whose test accuracy reaches ``convergence_fraction``
    of the run's best; ``reached_bar``, the first epoch whose test accuracy reaches the ``bar`` of its
    noise setting, ``convergence_fraction`` of the lowest best test accuracy of the runs of that
    setting in ``epochs`` (a bar every run clears: runs compared on one accuracy, where a run that
    stalls early "converges" to its own best at once); ``final_test`` and ``final_memorisation``
    (noisy_acc_given) at the last epoch; ``peak_memorisation``, the largest noisy_acc_given of any epoch."""
    if not 0 < convergence_fraction <= 1:
        raise ValueError(f"convergence_fraction must be in (0, 1], got {convergence_fraction}")
    bars = convergence_fraction * epochs.groupby(["noise", "key"])["test_acc"].max().groupby("noise").min()

    def scores(run: pd.DataFrame) -> pd.Series:
        def first_epoch(bar: float) -> float:
            return float(run.loc[run["test_acc"] >= bar, "epoch"].min())

        last = run.loc[run["epoch"].idxmax()]
        return pd.Series({"converged": first_epoch(convergence_fraction * run["test_acc"].max()),
                          "bar": bars[run.name[2]], "reached_bar": first_epoch(bars[run.name[2]]),
                          "final_test": last["test_acc"],
                          "final_memorisation": last["noisy_acc_given"], "peak_memorisation": run["noisy_acc_given"].max()})

    grouped = epochs.groupby(["key", "loss", "noise", "seed"], sort=False)
    return grouped.apply(scores, include_groups=False).reset_index()


@dataclass(frozen=True)
class ClaimCheck:
    """A claim "every candidate beats every baseline" tested on runs: the mean of the metric per
    candidate and per baseline (over seeds), the margin of the worst candidate over the best
    baseline (positive: the claim holds, in the metric's units, sign-flipped when lower is better),
    and in how many of the seeds the claim holds on that seed's runs alone."""

    candidates: pd.Series
    baselines: pd.Series
    margin: float
    seeds_holding: int
    seeds: int
    bar: float | None = None  # an absolute bar in place of the baselines (bar_check)

    @property
    def holds(self) -> bool:
        return bool(self.margin > 0)

    def cells(self, names: Callable[[Any], str] = str, scale: float = 100.0, decimals: int = 1,
              unit: str = "points") -> dict[str, str]:
        """The check as table cells: candidates and baselines ("name value, ..."), the margin
        ("+1.2 points"), "k of n" seeds and the verdict ("holds" / "does not hold")."""
        def listed(means: pd.Series) -> str:
            return ", ".join(f"{names(group)} {value * scale:.{decimals}f}" for group, value in means.items())
        baselines = listed(self.baselines) if self.bar is None else f"bar {self.bar * scale:.{decimals}f}"
        return {"candidates": listed(self.candidates), "baselines": baselines,
                "margin": f"{self.margin * scale:+.{decimals}f} {unit}", "seeds": f"{self.seeds_holding} of {self.seeds}",
                "verdict": "holds" if self.holds else "does not hold"}


def _group_means(runs: pd.DataFrame, group: str, metric: str, wanted: Sequence[Any]) -> tuple[pd.Series, pd.DataFrame]:
    """The mean of ``metric`` per group of ``wanted`` over seeds, and per seed (the seeds where every
    group ran); ValueError naming the groups without runs."""
    missing = [name for name in wanted if not (runs[group] == name).any()]
    if missing:
        raise ValueError(f"no runs of {', '.join(map(str, missing))} in column {group!r}")
    rows = runs[runs[group].isin(wanted)]
    means = rows.groupby(group, sort=False)[metric].mean()
    per_seed = rows.pivot_table(index="seed", columns=group, values=metric, aggfunc="mean").reindex(columns=wanted)
    return means, per_seed.dropna()


def claim_check(runs: pd.DataFrame, group: str, metric: str, candidates: Sequence[Any], baselines: Sequence[Any],
                higher_is_better: bool = True) -> ClaimCheck:
    """Test "every group of ``candidates`` beats every group of ``baselines``" on ``metric``: the
    ``group`` column of ``runs`` (one row per run, with a ``seed`` column) says which group a run is
    in. On the means over seeds the margin is worst candidate - best baseline (negated when lower is
    better); the same rule is applied to each seed where every group ran."""
    if not candidates or not baselines:
        raise ValueError("claim_check needs at least one candidate and one baseline")
    if set(candidates) & set(baselines):
        raise ValueError(f"{sorted(map(str, set(candidates) & set(baselines)))} are both candidate and baseline")
    sign = 1.0 if higher_is_better else -1.0

    def margin(means: pd.Series) -> float:
        return float((sign * means[list(candidates)]).min() - (sign * means[list(baselines)]).max())

    means, complete = _group_means(runs, group, metric, [*candidates, *baselines])
    return ClaimCheck(means[list(candidates)], means[list(baselines)], margin(means),
                      sum(margin(seed_means) > 0 for _, seed_means in complete.iterrows()), len(complete))


def bar_check(runs: pd.DataFrame, group: str, metric: str, candidates: Sequence[Any], bar: float,
              higher_is_better: bool = True) -> ClaimCheck:
    """Test "every group of ``candidates`` clears ``bar``" on ``metric``, an absolute bar (e.g. fewer
    than 10 % of the wrong labels fitted): the margin is the worst candidate's mean over seeds minus
    the bar (negated when lower is better); the same rule is applied to each seed where every
    candidate ran."""
    if not candidates:
        raise ValueError("bar_check needs at least one candidate")
    sign = 1.0 if higher_is_better else -1.0

    def margin(means: pd.Series) -> float:
        return float((sign * means[list(candidates)]).min() - sign * bar)

    means, complete = _group_means(runs, group, metric, list(candidates))
    return ClaimCheck(means[list(candidates)], pd.Series(dtype=float), margin(means),
                      sum(margin(seed_means) > 0 for _, seed_means in complete.iterrows()), len(complete), bar=bar)


def accuracy_table(summaries: pd.DataFrame, metric: str = "final_test_acc",
                   noise_names: Callable[[str], str] = noise_label) -> pd.DataFrame:
    """Loss x noise table of "mean ± std" of ``metric`` in %, rows and columns in order of
    appearance, labelled with the paper's loss names and noise_names(spec) ("sym 0.4")."""
    stats = mean_std(summaries, metric, ["loss", "noise"])
    stats["cell"] = [format_mean_std(m, s) for m, s in zip(stats["mean"], stats["std"])]
    table = stats.pivot(index="loss", columns="noise", values="cell")
    table = table.loc[list(dict.fromkeys(stats["loss"])), list(dict.fromkeys(stats["noise"]))]
    table.index = [losses.display_name(loss) for loss in table.index]
    table.columns = [noise_names(noise) for noise in table.columns]
    return table.fillna("–")


RUN_SCORES: dict[str, tuple[str, float, int]] = {
    "final_test_acc": ("last-epoch test (%)", 100.0, 2), "best_test_acc": ("best-epoch test (%)", 100.0, 2),
    "final_noisy_acc_given": ("memorisation, last (%)", 100.0, 2)}


def run_scores_table(runs: pd.DataFrame, by: Sequence[str],
                     columns: Mapping[str, tuple[str, float, int]] = RUN_SCORES,
                     names: Mapping[str, Callable[[Any], str]] | None = None) -> str:
    """Markdown table with one row per distinct ``by`` (in order of appearance) and, for every
    ``columns`` entry metric -> (header, scale, decimals), "mean ± std" of metric * scale over the
    runs of the row (default: RUN_SCORES, accuracies and memorisation in %). ``names`` maps a ``by``
    column to the function that names its values; otherwise floats print as "{:g}", the rest as str."""
    names = names or {}
    stats = {metric: mean_std(runs, metric, by) for metric in columns}
    first = next(iter(stats.values()))
    header = [*by, *(label for label, _, _ in columns.values())]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(by) + "---:|" * len(columns)]
    for row in range(len(first)):
        cells = [names[column](value) if column in names else f"{value:g}" if isinstance(value, float) else str(value)
                 for column, value in zip(by, first.loc[row, list(by)])]
        cells += [format_mean_std(stats[metric].loc[row, "mean"], stats[metric].loc[row, "std"], scale, decimals)
                  for metric, (_, scale, decimals) in columns.items()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def published_table(loss_names: Sequence[str], noises: Sequence[str]) -> pd.DataFrame:
    """The published CIFAR-10 numbers (%) for these losses and noise settings; NaN where none."""
    rows = {losses.display_name(loss): [PUBLISHED.get((losses.canonical_name(loss), noise), np.nan)
                                        for noise in noises] for loss in loss_names}
    return pd.DataFrame.from_dict(rows, orient="index", columns=[noise_label(noise) for noise in noises])


def side_by_side(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Tables of the same kind (rows: losses, columns: noise settings) interleaved column by column:
    the rows and columns of the first table, and for each column, (column, label) for every label;
    "–" where a later table lacks the row or column."""
    if not tables:
        raise ValueError("side_by_side needs at least one table, got none")
    first = next(iter(tables.values()))
    parts = {(column, label): (table[column].reindex(first.index) if column in table.columns
                               else pd.Series(index=first.index, dtype=object))
             for column in first.columns for label, table in tables.items()}
    return pd.DataFrame(parts, index=first.index).fillna("–")


def with_published(ours: pd.DataFrame, dataset: str, loss_names: Sequence[str], noises: Sequence[str]) -> pd.DataFrame:
    """``ours`` (from accuracy_table) with columns (noise, "ours") and, beside each, (noise,
    PUBLISHED_LABEL) for CIFAR-10; unchanged for other data sets (nothing comparable was published)."""
    if dataset != PUBLISHED_DATASET:
        return ours
    published = published_table(loss_names, noises).map(lambda value: "–" if np.isnan(value) else f"{value:.2f}")
    return side_by_side({"ours": ours, PUBLISHED_LABEL: published})


HPARAM_SYMBOLS = {"alpha": "α", "beta": "β", "delta": "δ", "lam": "λ", "gamma": "γ"}


def preset_table() -> pd.DataFrame:
    """Rows: the losses of the registry with hyperparameters; columns: its data sets; cells: the
    preset ``losses.build(loss, dataset)`` takes ("α 5, β 5, δ 5e-05"; p_min and a zero delta or
    lambda left out), "-" where the loss has no preset for the data set."""
    def cell(loss: str, dataset: str) -> str:
        try:
            values = losses.preset(loss, dataset)
        except ValueError:
            return "-"
        shown = {name: value for name, value in values.items()
                 if name != "p_min" and not (name in ("delta", "lam") and value == 0)}
        # no-break space and hyphen: a cell wraps between pairs only, never inside "δ 1e-06"
        return ", ".join(f"{HPARAM_SYMBOLS.get(name, name)}\u00a0{value:g}".replace("-", "\u2011")
                         for name, value in shown.items())

    rows = {losses.display_name(loss): [cell(loss, dataset) for dataset in losses.DATASETS] for loss in losses.LOSSES}
    frame = pd.DataFrame.from_dict(rows, orient="index",
                                   columns=[DATASET_NAMES.get(dataset, dataset) for dataset in losses.DATASETS])
    frame.index.name = "loss"
    return frame[~frame.isin(["", "-"]).all(axis=1)]


def noise_spec_table(dataset: data.ImageDataset, seed: int, rate: float = 0.4) -> pd.DataFrame:
    """One row per noise kind of anl.noise: its spec form, its meaning, and the realised noise rate
    on ``dataset``'s training labels of the kind at nominal ``rate`` with ``seed`` ("-" where the
    kind does not apply to the data set or takes no rate)."""
    labels = dataset.train_labels.numpy()
    header = f"realised on {DATASET_NAMES.get(dataset.name, dataset.name)}, R = {rate:g}"
    rows = []
    for kind, (form, meaning) in noise.NOISE_GRAMMAR.items():
        if kind in ("clean", "cifar10n"):
            realised = "-"
        else:
            realised = noise.apply_noise(f"{kind}:{rate:g}", labels, dataset=dataset.name,
                                         num_classes=dataset.num_classes, seed=seed, images=dataset.train_images).rate
            realised = f"{100 * realised:.2f} %"
        rows.append({"spec": f"`{form}`", "meaning": meaning, header: realised})
    return pd.DataFrame(rows).set_index("spec")


def markdown_table(frame: pd.DataFrame) -> str:
    """A DataFrame as a GitHub-style Markdown table (index as the first column)."""
    header = [frame.index.name or ""] + [" / ".join(c) if isinstance(c, tuple) else str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index, row in frame.iterrows():
        lines.append("| " + " | ".join([str(index)] + [str(value) for value in row]) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- figures
def plot_style() -> None:
    """The book's figure style: seaborn whitegrid at "notebook" font sizes, constrained layout, and
    inline PNGs at double resolution (retina) so that a 7.5-inch figure fills the page crisply."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    sns.set_theme(context="notebook", style="whitegrid", font_scale=0.9)
    plt.rcParams.update({"figure.dpi": 100, "figure.constrained_layout.use": True, "legend.frameon": False})
    set_matplotlib_formats("retina")


#: One colour per loss of the registry, the same on every figure of the book: the paper's losses
#: and the main baselines in tab10's saturated colours, the components and the other APL pairs in
#: tab20's light ones.
LOSS_COLORS: dict[str, str] = {
    "anl_ce": "#d62728", "anl_fl": "#ff7f0e", "anl_ce_er": "#8c1c13", "nce_rce": "#1f77b4", "nce_mae": "#17becf",
    "nce_agce": "#9467bd", "ce": "#7f7f7f", "gce": "#2ca02c", "sce": "#8c564b", "fl": "#e377c2", "mae": "#bcbd22",
    "dice": "#000000", "nce": "#aec7e8", "nfl": "#ffbb78", "nnce": "#ff9896", "nnfl": "#c49c94", "rce": "#98df8a",
    "agce": "#c5b0d5", "aul": "#f7b6d2", "ael": "#dbdb8d", "nfl_rce": "#9edae5", "nce_aul": "#5254a3",
    "nce_ael": "#6b6ecf",
}


def loss_colors(loss_names: Sequence[str]) -> dict[str, str]:
    """The colours of LOSS_COLORS for these losses, keyed by the paper's names ("ANL-CE")."""
    return {losses.display_name(loss): LOSS_COLORS[losses.canonical_name(loss)] for loss in loss_names}


LINE_STYLES = ("-", "--", ":", "-.")


def draw_loss_curves(ax: Any, frame: pd.DataFrame, metric: str, loss_names: Sequence[str], colors: Mapping[str, Any],
                     x: str = "epoch", style: str = "-", labelled: bool = True) -> None:
    """On ``ax``, one line per loss of ``frame[metric]`` in % against ``frame[x]``: the mean over
    seeds, shaded ± std where there are several, in the loss's colour, labelled with its name."""
    for loss in loss_names:
        curve = mean_std(frame[frame["loss"] == loss], metric, [x])
        name = losses.display_name(loss)
        mean, spread = 100 * curve["mean"], 100 * curve["std"].fillna(0)
        ax.plot(curve[x], mean, style, color=colors[name], linewidth=1.8, label=name if labelled else None)
        ax.fill_between(curve[x], mean - spread, mean + spread, color=colors[name], alpha=0.15, linewidth=0)


def plot_curves_by_protocol(frames: Mapping[str, pd.DataFrame], metric: str, label: str, noises: Sequence[str],
                            loss_names: Sequence[str], colors: Mapping[str, Any], x: str = "step") -> Any:
    """``metric`` (in %, axis ``label``) against ``x`` for several sets of runs: one column of
    panels per set (``frames``, titled by its name), one row per noise setting, one line per loss;
    the x axis (log scale) shared by every panel, so that equal steps line up. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(noises), len(frames), figsize=(1.9 * len(frames) + 0.8, 2.1 * len(noises) + 0.7),
                             sharex=True, sharey="row", squeeze=False)
    for column, (name, frame) in enumerate(frames.items()):
        for row, noise_spec in enumerate(noises):
            ax = axes[row, column]
            draw_loss_curves(ax, frame[frame["noise"] == noise_spec], metric, loss_names, colors, x)
            ax.set_xscale("log")
            ax.set_title(name if row == 0 else "", fontsize="small")
            ax.set_ylabel(f"{noise_label(noise_spec)}\n{label}" if column == 0 else "")
            if row == len(noises) - 1:
                ax.set_xlabel({"epoch": "epoch", "step": "optimiser step"}.get(x, x))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6))
    return fig


def plot_curves(frames: Mapping[str, pd.DataFrame], metrics: Mapping[str, str], noises: Sequence[str],
                loss_names: Sequence[str], colors: Mapping[str, Any], x: str = "epoch") -> Any:
    """Per-epoch curves of runs (rows of RunSet.epochs) against column ``x`` (the epoch, or e.g. a
    "step" column of :func:`optimiser_steps`): one row of panels per ``metrics`` column (value: its
    axis label; plotted in %), one column per noise setting, one line per loss in its colour: the
    mean over seeds, shaded ± std where there are several. ``frames`` names up to four sets of runs,
    drawn solid, dashed, dotted and dash-dotted; with more than one, the legend names the styles
    too. Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    if not 1 <= len(frames) <= len(LINE_STYLES):
        raise ValueError(f"plot_curves draws 1 to {len(LINE_STYLES)} sets of runs, got {len(frames)}")
    fig, axes = plt.subplots(len(metrics), len(noises), figsize=(2.7 * len(noises) + 0.6, 2.4 * len(metrics) + 0.6),
                             sharex=True, sharey="row", squeeze=False)
    for column, noise_spec in enumerate(noises):
        for row, (metric, label) in enumerate(metrics.items()):
            ax = axes[row, column]
            for style, frame in zip(LINE_STYLES, frames.values()):
                draw_loss_curves(ax, frame[frame["noise"] == noise_spec], metric, loss_names, colors, x, style,
                                 labelled=style == LINE_STYLES[0])
            ax.set_title(noise_label(noise_spec) if row == 0 else "")
            ax.set_ylabel(label if column == 0 else "")
            if row == len(metrics) - 1:
                ax.set_xlabel({"epoch": "epoch", "step": "optimiser step"}.get(x, x))
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if len(frames) > 1:
        handles += [Line2D([], [], color="0.3", linestyle=style) for style in LINE_STYLES[:len(frames)]]
        labels += list(frames)
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6))
    return fig
