"""Internal: tables of runs for the book's pages, as DataFrames or Markdown: accuracy per loss and noise
("mean ± std" in %), scores per run group, protocols compared, the published numbers beside ours,
the loss presets and the noise grammar."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from anl import data, detection, losses, noise
from anl.engine import DEFAULT_PRECISION
from anl.report.labels import DATASET_NAMES, format_number, noise_cell, noise_kind_label, noise_label, nowrap
from anl.report.published import PUBLISHED_LABEL, published_cells, published_text
from anl.report.stats import format_mean_std, loss_ranking, mean_std, optimiser_steps


def accuracy_table(summaries: pd.DataFrame, metric: str = "final_test_acc",
                   noise_names: Callable[[str], str] = noise_label,
                   loss_names: Callable[[str], str] = losses.display_name) -> pd.DataFrame:
    """Loss x noise table of "mean ± std" of ``metric`` in %, rows and columns in order of
    appearance, labelled with loss_names(loss) (the paper's names, or e.g.
    :func:`anl.report.labels.loss_label` for a data set) and noise_names(spec) ("sym 0.4")."""
    stats = mean_std(summaries, metric, ["loss", "noise"])
    stats["cell"] = [format_mean_std(m, s) for m, s in zip(stats["mean"], stats["std"])]
    table = stats.pivot(index="loss", columns="noise", values="cell")
    table = table.loc[list(dict.fromkeys(stats["loss"])), list(dict.fromkeys(stats["noise"]))]
    table.index = [loss_names(loss) for loss in table.index]
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
    change = ["–" if first_row else format_number(100 * delta, 1, signed=True)
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


def with_published(ours: pd.DataFrame, configs: Sequence[Any]) -> pd.DataFrame:
    """``ours`` (from accuracy_table of the runs of ``configs``) with columns (noise, "ours") and,
    beside each, (noise, PUBLISHED_LABEL) ("–" where none); unchanged when no cell of ``configs``
    has a published number (:func:`anl.report.published.published_cells`: another data set or protocol)."""
    published = published_cells(configs)
    if not published:
        return ours
    columns: dict[str, dict[str, str]] = {}
    for (spec, loss), number in published.items():
        columns.setdefault(noise_label(spec), {})[losses.display_name(loss)] = published_text(loss, spec)
    return side_by_side({"ours": ours, PUBLISHED_LABEL: pd.DataFrame(columns)})


def noise_cells(configs: Sequence[Any]) -> list[tuple[str, str]]:
    """The (noise spec, loss) pairs of ``configs`` (anything with ``noise`` and ``loss``), once each,
    grouped by noise setting in order of first appearance, the losses in order within a setting:
    the rows of :func:`published_comparison` for a grid."""
    cells = list(dict.fromkeys((config.noise, config.loss) for config in configs))
    noises = list(dict.fromkeys(noise for noise, _ in cells))
    return sorted(cells, key=lambda cell: noises.index(cell[0]))


def published_comparison(summaries: pd.DataFrame, configs: Sequence[Any]) -> pd.DataFrame:
    """One row per (noise spec, loss) of ``configs`` (:func:`noise_cells`), indexed by loss name:
    our last- and best-epoch test accuracy and the share of wrong labels fitted at the last epoch
    ("mean ± std" over the runs in ``summaries``, in %; "–" without runs or without wrong labels),
    the recorded seeds, the published number beside it (PUBLISHED_LABEL, "–" where none:
    :func:`anl.report.published.published_cells`) and ours (last epoch, mean) minus published in
    points ("–" where either is missing)."""
    last, best, memorised = (mean_std(summaries, metric, ["loss", "noise"]).set_index(["loss", "noise"])
                             for metric in ("final_test_acc", "best_test_acc", "final_noisy_acc_given"))

    def stated(table: pd.DataFrame, cell: tuple[str, str]) -> str:
        if cell not in table.index or np.isnan(table.loc[cell, "mean"]):
            return "–"
        return format_mean_std(*table.loc[cell, ["mean", "std"]])

    numbers = published_cells(configs)
    rows = []
    for spec, loss in noise_cells(configs):
        ran = (loss, spec) in last.index
        published = numbers.get((spec, losses.canonical_name(loss)))
        rows.append({
            "loss": nowrap(losses.display_name(loss)), "noise": noise_cell(spec),
            "last epoch (%)": stated(last, (loss, spec)), "best epoch (%)": stated(best, (loss, spec)),
            RUN_SCORES["final_noisy_acc_given"][0]: stated(memorised, (loss, spec)),
            "seeds": int(last.loc[(loss, spec), "n"]) if ran else 0,
            PUBLISHED_LABEL: "–" if published is None else published_text(losses.canonical_name(loss), spec),
            "ours − published": "–" if published is None or not ran
            else format_number(100 * last.loc[(loss, spec), 'mean'] - published, 2, signed=True)})
    return pd.DataFrame(rows).set_index("loss")


#: Noise kinds whose labels differ from those behind the published number of another kind at the same rate.
OTHER_LABELS_OF = {"idn": "idn-file", "idn-norm": "idn-file"}


def _other_labels(spec: str) -> str | None:
    """"idn-file:0.4" for "idn:0.4" (:data:`OTHER_LABELS_OF`), None for a spec of no such kind."""
    kind, _, rate = spec.partition(":")
    return f"{OTHER_LABELS_OF[kind]}:{rate}" if kind in OTHER_LABELS_OF else None


def published_gaps(summaries: pd.DataFrame, configs: Sequence[Any]) -> pd.DataFrame:
    """Where ours stand against the published numbers: one row per (noise spec, loss) of ``configs``
    with recorded runs in ``summaries`` and a published number
    (:func:`anl.report.published.published_cells`) either for it (ours − published in points) or
    for the same loss on the labels of another definition at the same rate (idn:R and idn-norm:R
    beside idn-file:R's number, which names its spec, no difference taken); the labels' definition (:func:`anl.report.labels.noise_kind_label`) names
    each row's noise."""
    last = mean_std(summaries, "final_test_acc", ["loss", "noise"]).set_index(["loss", "noise"])
    numbers = published_cells(configs)
    others = published_cells([replace(config, noise=_other_labels(config.noise)) for config in configs
                              if _other_labels(config.noise)])
    rows = []
    for spec, loss in noise_cells(configs):
        key, other = losses.canonical_name(loss), _other_labels(spec)
        published = numbers.get((spec, key))
        if published is None and other:
            published = others.get((other, key))
        if (loss, spec) not in last.index or published is None:
            continue
        ours, foreign = 100 * last.loc[(loss, spec), "mean"], (spec, key) not in numbers
        rows.append({
            "loss": nowrap(losses.display_name(loss)), "noise": noise_cell(spec), "labels": noise_kind_label(spec),
            "seeds": int(last.loc[(loss, spec), "n"]), "ours (%)": f"{ours:.2f}",
            PUBLISHED_LABEL: f"{published:.2f}" + (f" ({noise_cell(other)})" if foreign else ""),
            "ours − published": "–" if foreign else format_number(ours - published, 2, signed=True)})
    return pd.DataFrame(rows, columns=["loss", "noise", "labels", "seeds", "ours (%)", PUBLISHED_LABEL,
                                       "ours − published"]).set_index("loss")


def gap_finding(gaps: pd.DataFrame, clean: pd.DataFrame | None) -> str:
    """What the gaps of :func:`published_gaps` say, in two or three sentences: the range of ours −
    published over the cells with their own published number, our clean-label ceiling per loss from
    ``clean`` (summaries of clean-label runs at the same protocol; None or empty when none is
    recorded), and what stays unexplained."""
    differences = pd.to_numeric(gaps["ours − published"].str.replace("−", "-"), errors="coerce").dropna()
    if differences.empty:
        return "*No recorded cell has a published number yet.*"
    text = (f"Over the {len(differences)} cells with their own published number, ours sit "
            f"{format_number(-differences.max(), 1)} to {format_number(-differences.min(), 1)} points under it "
            f"(median {format_number(-differences.median(), 1)}).")
    if clean is None or clean.empty:
        return text + (" The clean-label runs that measure this copy's ceiling are not recorded yet, so none of "
                       "the gap is explained yet: it is the copy, our code or the protocol, unmeasured.")
    ceiling = mean_std(clean, "final_test_acc", ["loss"])
    stated = ", ".join(f"{losses.display_name(row.loss)} {100 * row.mean:.2f} %" for row in ceiling.itertuples())
    return text + (f" On clean labels ours reach {stated}; without a published clean accuracy of this network at this "
                   "protocol to set beside it, the copy's share of the gap stays unmeasured, and the gap unexplained.")


def published_order(summaries: pd.DataFrame, configs: Sequence[Any], noise_spec: str) -> str | None:
    """One sentence: the losses of ``configs`` at ``noise_spec`` that ran (in ``summaries``) and
    have a published number (:func:`anl.report.published.published_cells`), best first by our mean
    last-epoch accuracy and by the published one, and whether the two orders agree; None with fewer
    than two such losses."""
    numbers = published_cells(configs)
    loss_names = [loss for spec, loss in numbers if spec == noise_spec]
    ranking = loss_ranking(summaries, noise_spec, "final_test_acc", loss_names)
    published = {loss: numbers[(noise_spec, loss)] for loss in ranking.index}
    if len(published) < 2:
        return None
    ours = {loss: 100 * ranking[loss] for loss in ranking.index if loss in published}

    def order(values: Mapping[str, float]) -> list[str]:
        return sorted(values, key=lambda loss: -values[loss])

    def spelled(values: Mapping[str, float]) -> str:
        return " > ".join(f"{losses.display_name(loss)}\u00a0{values[loss]:.2f}" for loss in order(values))

    same = order(ours) == order(published)
    return (f"At {noise_label(noise_spec)}, last epoch: ours {spelled(ours)}; published {spelled(published)}: "
            + ("the same order." if same else "**a different order**."))


PRECISION_METRICS = {"final_test_acc": "test accuracy", "final_noisy_acc_given": "memorisation"}  # at the last epoch


@dataclass(frozen=True)
class PrecisionComparison:
    """A precision beside fp32 on the same runs, and fp32 beside itself on another seed: ``table``
    has one row per loss, noise setting and metric, in points (%); ``shift`` is the largest absolute
    difference candidate - fp32 on the same seed and ``spread`` the largest absolute difference
    fp32 on the other seed - fp32 on the seed."""

    table: pd.DataFrame
    shift: float
    spread: float

    def finding(self, candidate: str) -> str:
        """One sentence: how far the candidate precision moves the numbers, against the seed spread."""
        return (f"{candidate} moves every number by at most {self.shift:.2f} points; on the same "
                f"settings a second fp32 seed moves them by up to {self.spread:.2f} points.")


def precision_comparison(summaries: pd.DataFrame, candidate: str, seed: int, other_seed: int,
                         metrics: Mapping[str, str] = PRECISION_METRICS) -> PrecisionComparison:
    """For every loss x noise setting where ``candidate`` ran ``seed`` (rows of ``summaries``, one
    per run, with a ``precision`` column that is NaN or absent for fp32 runs; a row per setting and
    metric, indexed by "loss noise"): each metric at the last epoch under
    ``candidate`` and under fp32 on ``seed``, fp32 on ``other_seed``, the precision's shift
    (candidate - fp32, same seed) and the seed spread (fp32 other seed - fp32 seed), in points.
    ValueError names a setting that lacks one of the three runs."""
    precision = summaries["precision"].fillna(DEFAULT_PRECISION) if "precision" in summaries else DEFAULT_PRECISION
    runs = summaries.assign(precision=precision).drop_duplicates(["loss", "noise", "precision", "seed"])
    by_run = runs.set_index(["loss", "noise", "precision", "seed"])
    cells = runs[(runs["precision"] == candidate) & (runs["seed"] == seed)][["loss", "noise"]]
    rows = []
    for loss, spec in cells.itertuples(index=False):
        for run_precision, run_seed in ((candidate, seed), ("fp32", seed), ("fp32", other_seed)):
            if (loss, spec, run_precision, run_seed) not in by_run.index:
                raise ValueError(f"no {run_precision} run of {loss} at {spec} with seed {run_seed}")
        for metric, label in metrics.items():
            ours, fp32, other = (100 * float(by_run.loc[(loss, spec, run_precision, run_seed), metric])
                                 for run_precision, run_seed in ((candidate, seed), ("fp32", seed), ("fp32", other_seed)))
            rows.append({"run": nowrap(f"{losses.display_name(loss)} {noise_label(spec)}"), "last epoch (%)": label,
                         f"{candidate}, seed {seed}": f"{ours:.2f}",
                         f"fp32, seed {seed}": f"{fp32:.2f}", f"fp32, seed {other_seed}": f"{other:.2f}",
                         f"{candidate} − fp32": format_number(ours - fp32, 2, signed=True),
                         f"seed {other_seed} − seed {seed} (fp32)": format_number(other - fp32, 2, signed=True),
                         "shift": abs(ours - fp32), "spread": abs(other - fp32)})
    if not rows:
        raise ValueError(f"no {candidate} run with seed {seed} in the summaries")
    table = pd.DataFrame(rows)
    return PrecisionComparison(table.drop(columns=["shift", "spread"]).set_index("run"),
                               float(table["shift"].max()), float(table["spread"].max()))


HPARAM_SYMBOLS = {"alpha": "α", "beta": "β", "delta": "δ", "lam": "λ", "gamma": "γ"}


def preset_table() -> pd.DataFrame:
    """Rows: the losses of the registry with hyperparameters; columns: its data sets; cells: the
    preset ``losses.build(loss, dataset)`` takes ("α 5, β 5, δ 5e-05"; p_min and a zero delta or
    lambda left out), one per noise type ("sym: α 0.01, ...; asym: ...") where the preset depends
    on it, "-" where the loss has no preset for the data set."""
    def values_cell(values: dict[str, float]) -> str:
        shown = {name: value for name, value in values.items()
                 if name != "p_min" and not (name in ("delta", "lam") and value == 0)}
        # a cell wraps between pairs only, never inside "δ 1e-06"
        return ", ".join(nowrap(f"{HPARAM_SYMBOLS.get(name, name)} {value:g}") for name, value in shown.items())

    return _registry_table(losses.LOSSES, losses.DATASETS, losses.preset, values_cell)


def search_space_table() -> pd.DataFrame:
    """Rows: the losses with tunable hyperparameters; columns: the data sets trained here; cells:
    the log-uniform range of each (losses.search_space: "α 0.1–10, β 0.1–10"), one per noise type
    where the preset depends on it, "-" where the loss has no preset for the data set."""
    def ranges_cell(space: dict[str, tuple[float, float]]) -> str:
        return ", ".join(nowrap(f"{HPARAM_SYMBOLS.get(name, name)} {low:.3g}–{high:.3g}")
                         for name, (low, high) in space.items())

    return _registry_table(losses.TUNABLE_LOSSES, data.DATASETS, losses.search_space, ranges_cell)


def _registry_table(loss_names: Sequence[str], datasets: Sequence[str],
                    lookup: Callable[[str, str, str | None], dict[str, Any]],
                    show: Callable[[dict[str, Any]], str]) -> pd.DataFrame:
    """Rows: ``loss_names``; columns: ``datasets``; cells: ``show(lookup(loss, dataset, noise
    type))``, one per noise type ("sym: ...; asym: ...") where the preset depends on it, "-" where
    ``lookup`` raises ValueError; rows that are "-" everywhere left out."""
    def cell(loss: str, dataset: str) -> str:
        noise_types = losses.NOISE_TYPES if losses.needs_noise_type(loss, dataset) else (None,)
        try:
            rows = {noise_type: lookup(loss, dataset, noise_type) for noise_type in noise_types}
        except ValueError:
            return "-"
        if noise_types == (None,):
            return show(rows[None])
        return "; ".join(f"{noise_type}: {show(values)}" for noise_type, values in rows.items())

    rows = {losses.display_name(loss): [cell(loss, dataset) for dataset in datasets] for loss in loss_names}
    frame = pd.DataFrame.from_dict(rows, orient="index",
                                   columns=[DATASET_NAMES.get(dataset, dataset) for dataset in datasets])
    frame.index.name = "loss"
    return frame[~frame.isin(["", "-"]).all(axis=1)]


def noise_spec_table(dataset: data.ImageDataset, seed: int, rate: float = 0.4) -> pd.DataFrame:
    """One row per noise kind of anl.noise: its spec form, its meaning, and the realised noise rate
    on ``dataset``'s training labels of the kind at nominal ``rate`` with ``seed`` ("-" where the
    kind does not apply to the data set or takes no rate; idn-file reads its label file)."""
    labels = dataset.train_labels.numpy()
    header = f"realised on {DATASET_NAMES.get(dataset.name, dataset.name)}, R = {rate:g}"
    rows = []
    for kind, (form, meaning) in noise.NOISE_GRAMMAR.items():
        if kind in ("clean", "cifar10n") or (kind in noise.CIFAR10_ONLY_KINDS and dataset.name != "cifar10"):
            realised = "-"
        else:
            realised = noise.apply_noise(f"{kind}:{rate:g}", labels, dataset=dataset.name,
                                         num_classes=dataset.num_classes, seed=seed, images=dataset.train_images).rate
            realised = f"{100 * realised:.2f} %"
        rows.append({"spec": f"`{form}`", "meaning": meaning, header: realised})
    return pd.DataFrame(rows).set_index("spec")


#: The fewest characters a line of a table cell's text keeps (:func:`wrap_in_chunks`).
CELL_LINE = 12


def wrap_in_chunks(text: str, least: int = CELL_LINE) -> str:
    """``text`` with no-break spaces inside runs of words of at least ``least`` characters (a lone last
    word joins the run before it), so that
    a browser breaks it only between such runs: a squeezed column of names ("converges faster than
    APL with MAE: ...") wraps into a few lines, never one word a line. Text shorter than two such
    runs wraps at most once anyway and is left as it is, so that a short cell ("does not hold",
    "+2.1 ± 0.4 points (3)") can still break and a table of many such columns fits; so is text with
    Markdown or math markup (backticks, $, braces, brackets, <)."""
    if len(text) < 2 * least or any(mark in text for mark in "`${}[]<"):
        return text
    chunks: list[str] = []
    for word in text.split(" "):
        if chunks and len(chunks[-1]) < least:
            chunks[-1] += "\u00a0" + word
        else:
            chunks.append(word)
    if len(chunks) > 1 and " " not in chunks[-1].replace("\u00a0", " "):  # a last lone word joins the run before it
        chunks[-2:] = [chunks[-2] + "\u00a0" + chunks[-1]]
    return " ".join(chunks)


def markdown_table(frame: pd.DataFrame) -> str:
    """A DataFrame as a GitHub-style Markdown table (index as the first column), every cell wrapping
    only between runs of words (:func:`wrap_in_chunks`)."""
    header = [frame.index.name or ""] + [" / ".join(c) if isinstance(c, tuple) else str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index, row in frame.iterrows():
        lines.append("| " + " | ".join(wrap_in_chunks(str(value)) for value in [index, *row]) + " |")
    return "\n".join(lines)


#: The detection columns of :func:`detection_table`: (label, per-run value column, scale, decimals).
DETECTION_COLUMNS = (("test accuracy, last (%)", "final_test_acc", 100.0, 2),
                     ("AUC (loss), last", "last_auc_loss", 1.0, 3), ("AUC (loss), best", "best_auc_loss", 1.0, 3),
                     ("AUC (margin), last", "last_auc_margin", 1.0, 3),
                     ("cleanlab F1, last", "cleanlab_f1", 1.0, 3),
                     ("cleanlab precision", "cleanlab_precision", 1.0, 3),
                     ("cleanlab recall", "cleanlab_recall", 1.0, 3))


def detection_runs(summaries: pd.DataFrame | None, epochs: pd.DataFrame | None) -> pd.DataFrame:
    """One row per run with the detection fields (a record without them is left out; None frames:
    no run): its key, data set, loss, noise, seed, last-epoch test accuracy, ROC AUC of the
    per-sample loss and of the margin at the last epoch and the best AUC (loss) over the epochs
    with its epoch, and the precision, recall and F1 of confident learning at the last epoch (NaN
    where the record has none)."""
    columns = ["key", "dataset", "loss", "noise", "seed", "final_test_acc", "last_auc_loss", "best_auc_loss",
               "best_auc_epoch", "last_auc_margin", "cleanlab_f1", "cleanlab_precision", "cleanlab_recall"]
    if epochs is None or summaries is None or "mislabel_auc_loss" not in epochs.columns:
        return pd.DataFrame(columns=columns)
    rows = []
    for key, run in epochs.dropna(subset=["mislabel_auc_loss"]).groupby("key", sort=False):
        run = run.sort_values("epoch")
        summary = summaries.loc[summaries["key"] == key].iloc[0]
        best = run.loc[run["mislabel_auc_loss"].idxmax()]
        cleanlab = summary.get("confident_learning")
        cleanlab = cleanlab if isinstance(cleanlab, dict) else {}
        rows.append({"key": key, **{name: summary[name] for name in ("dataset", "loss", "noise", "seed", "final_test_acc")},
                     "last_auc_loss": run["mislabel_auc_loss"].iloc[-1], "best_auc_loss": best["mislabel_auc_loss"],
                     "best_auc_epoch": int(best["epoch"]), "last_auc_margin": run["mislabel_auc_margin"].iloc[-1],
                     **{f"cleanlab_{name}": np.nan if cleanlab.get(name) is None else cleanlab[name]
                        for name in ("f1", "precision", "recall")}})
    return pd.DataFrame(rows, columns=columns)


def detection_table(runs: pd.DataFrame, loss_names: Callable[[str], str] = losses.display_name) -> pd.DataFrame:
    """Per (noise, loss) of :func:`detection_runs`' ``runs``, in order of appearance: the seeds and
    each column of :data:`DETECTION_COLUMNS` as "mean ± std" over them, and the median epoch of the
    best AUC (loss); indexed by loss_names(loss)."""
    rows = []
    for (spec, loss), group in runs.groupby(["noise", "loss"], sort=False):
        row = {"loss": nowrap(loss_names(loss)), "noise": noise_cell(spec), "seeds": len(group)}
        for label, column, scale, decimals in DETECTION_COLUMNS:
            values = group[column].dropna()
            row[label] = (format_mean_std(values.mean(), values.std() if len(values) > 1 else np.nan, scale, decimals)
                          if len(values) else "–")
        row["best AUC at epoch"] = format_number(float(group["best_auc_epoch"].median()), 0)
        rows.append(row)
    return pd.DataFrame(rows).set_index("loss") if rows else pd.DataFrame()


def detection_finding(runs: pd.DataFrame, loss_names: Callable[[str], str] = losses.display_name) -> list[str]:
    """Per noise setting of :func:`detection_runs`' ``runs``, one sentence: the loss with the highest
    mean last-epoch AUC (loss) and the most accurate loss, whether they are the same, and how much
    AUC the best detector lost between its best epoch and the last (memorisation erasing it)."""
    lines = []
    for spec, setting in runs.groupby("noise", sort=False):
        means = setting.groupby("loss", sort=False)[["last_auc_loss", "best_auc_loss", "final_test_acc"]].mean()
        detector, accurate = means["last_auc_loss"].idxmax(), means["final_test_acc"].idxmax()
        seeds = setting.groupby("loss")["seed"].nunique().min()
        same = ("the same loss" if detector == accurate else
                f"not the most accurate loss ({loss_names(accurate)}, {100 * means.loc[accurate, 'final_test_acc']:.2f} %)")
        lost = means.loc[detector, "best_auc_loss"] - means.loc[detector, "last_auc_loss"]
        lines.append(f"{noise_label(spec)}: the best detector at the last epoch is {loss_names(detector)} (AUC "
                     f"{means.loc[detector, 'last_auc_loss']:.3f}, {format_number(lost, 3)} under its best epoch), "
                     f"{same}; {'one seed: indicative' if seeds < 2 else f'{seeds}+ seeds per loss'}.")
    return lines


def out_of_sample_runs(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per k-fold setting (records whose configs are alike but for ``holdout_fold``) whose k
    held-out-fold records are all in ``records`` (a setting still training is left out): its data set,
    loss, noise, seed and folds, and the precision, recall and F1 of confident learning on the
    joined out-of-sample probabilities (:func:`anl.detection.out_of_sample_confident_learning`;
    NaN without cleanlab)."""
    columns = ["dataset", "loss", "noise", "seed", "folds", "cleanlab_f1", "cleanlab_precision", "cleanlab_recall"]
    settings: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        config = record["config"]
        if config.get("holdout_folds") is not None:
            setting = {name: value for name, value in config.items() if name != "holdout_fold"}
            settings.setdefault(json.dumps(setting, sort_keys=True), []).append(record)
    rows = []
    for group in settings.values():
        config = group[0]["config"]
        if len({record["config"]["holdout_fold"] for record in group}) < config["holdout_folds"]:
            continue
        scores = detection.out_of_sample_confident_learning(group) or {}
        rows.append({**{name: config[name] for name in ("dataset", "loss", "noise", "seed")},
                     "folds": config["holdout_folds"],
                     **{f"cleanlab_{name}": np.nan if scores.get(name) is None else scores[name]
                        for name in ("f1", "precision", "recall")}})
    return pd.DataFrame(rows, columns=columns)


def out_of_sample_table(scored: pd.DataFrame, reference: pd.DataFrame, settings: Sequence[str],
                        loss_names: Callable[[str], str] = losses.display_name) -> pd.DataFrame:
    """Per noise setting of ``settings``: confident learning's F1, precision and recall on each loss's
    in-sample probabilities (:func:`detection_runs`' ``scored``, mean ± std over the seeds), then on
    the out-of-sample probabilities of each reference of :func:`out_of_sample_runs` (``reference``),
    or a row "still to run" where a setting has none; indexed by the probabilities' source."""
    rows = []
    metrics = [(label, column) for label, column, _, _ in DETECTION_COLUMNS if column.startswith("cleanlab_")]
    for spec in settings:
        for loss, group in scored[scored["noise"] == spec].groupby("loss", sort=False):
            cells = {label: format_mean_std(values.mean(), values.std() if len(values) > 1 else np.nan, 1.0, 3)
                     if len(values := group[column].dropna()) else "–" for label, column in metrics}
            rows.append({"probabilities": f"in-sample, {nowrap(loss_names(loss))}", "noise": noise_cell(spec),
                         "seeds": ", ".join(str(seed) for seed in sorted(group["seed"])), **cells})
        references = reference[reference["noise"] == spec]
        for _, run in references.iterrows():
            rows.append({"probabilities": f"out-of-sample ({run['folds']} folds), {nowrap(loss_names(run['loss']))}",
                         "noise": noise_cell(spec), "seeds": str(run["seed"]),
                         **{label: format_number(run[column], 3) for label, column in metrics}})
        if references.empty:
            rows.append({"probabilities": "out-of-sample reference", "noise": noise_cell(spec), "seeds": "–",
                         **{label: "still to run" for label, _ in metrics}})
    return pd.DataFrame(rows).set_index("probabilities") if rows else pd.DataFrame()
