"""Internal: the book's figures: one style, one palette giving each loss one colour on every page, and the
figures and panels the pages draw (training curves per loss, noise setting and set of runs;
transition matrices; masks on an image)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from anl import losses
from anl.report.labels import class_names, mask_noise_label, noise_kind_label, noise_label
from anl.report.stats import mean_std


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
    "nce_ael": "#6b6ecf", "jal_ce": "#637939", "jal_fl": "#8ca252", "ce_eps_mae": "#7b4173", "fl_eps_mae": "#393b79",
}


def loss_colors(loss_names: Sequence[str]) -> dict[str, str]:
    """The colours of LOSS_COLORS for these losses, keyed by the paper's names ("ANL-CE")."""
    return {losses.display_name(loss): LOSS_COLORS[losses.canonical_name(loss)] for loss in loss_names}


#: The sequential colormap of settings that are not losses (a regulariser, its weight delta or
#: lambda): ordered colours that no loss of LOSS_COLORS has, so that a setting never reads as a loss.
SETTING_COLORMAP = "viridis"


def setting_colors(count: int) -> list[str]:
    """``count`` colours of SETTING_COLORMAP, dark to light, in the order of the settings: evenly
    spaced over its first 85 % (its last yellows are too pale for a line on white)."""
    import matplotlib

    colormap = matplotlib.colormaps[SETTING_COLORMAP]
    return [matplotlib.colors.to_hex(colormap(0.85 * index / max(count - 1, 1))) for index in range(count)]


#: The colour of a noisy mask beside the clean one: none of LOSS_COLORS, so that a noisy mask
#: never reads as a loss's prediction.
MASK_NOISE_COLOR = "deeppink"

#: Grey for what is neither a loss nor a setting: the line joining a sweep's points, the bars of
#: the given training labels beside the settings' (no loss has it; CE's grey is darker).
JOIN_COLOR = "#b3b3b3"

LINE_STYLES = ("-", "--", ":", "-.")
#: The colour of the legend keys that name line styles (sets of runs), not losses: black, which no
#: classification loss has (CE's grey would read as CE).
STYLE_KEY_COLOR = "black"


def _count_ticks() -> Any:
    """Whole counts (epochs, optimiser steps), at most about six ticks: three panels of 120 epochs side by
    side stay legible."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=6, steps=[1, 2, 4, 5, 10], integer=True)


def draw_loss_curves(ax: Any, frame: pd.DataFrame, metric: str, loss_names: Sequence[str], colors: Mapping[str, Any],
                     x: str = "epoch", style: str = "-", labelled: bool = True,
                     names: Callable[[str], str] = losses.display_name) -> None:
    """On ``ax``, one line per loss of ``frame[metric]`` in % against ``frame[x]``: the mean over
    seeds, shaded ± std where there are several, in the loss's colour (``colors``, keyed by the
    paper's names), labelled names(loss) (by default the paper's name)."""
    for loss in loss_names:
        curve = mean_std(frame[frame["loss"] == loss], metric, [x])
        name = losses.display_name(loss)
        mean, spread = 100 * curve["mean"], 100 * curve["std"].fillna(0)
        ax.plot(curve[x], mean, style, color=colors[name], linewidth=1.8, label=names(loss) if labelled else None)
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
                loss_names: Sequence[str], colors: Mapping[str, Any], x: str = "epoch",
                metrics_across: bool = False, names: Callable[[str], str] = losses.display_name) -> Any:
    """Per-epoch curves of runs (rows of RunSet.epochs) against column ``x`` (the epoch, or e.g. a
    "step" column of :func:`anl.report.stats.optimiser_steps`): one row of panels per ``metrics`` column (value: its
    axis label; plotted in %), one column per noise setting, one line per loss in its colour: the
    mean over seeds, shaded ± std where there are several; with ``metrics_across`` one column per
    metric (titled by its label, each on its own scale) and one row per noise setting, which reads
    better for a single noise setting. ``frames`` names up to four sets of runs, drawn solid,
    dashed, dotted and dash-dotted; with more than one, the legend names the styles too. The
    legend names each loss names(loss). Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    if not 1 <= len(frames) <= len(LINE_STYLES):
        raise ValueError(f"plot_curves draws 1 to {len(LINE_STYLES)} sets of runs, got {len(frames)}")
    rows, columns = (len(noises), len(metrics)) if metrics_across else (len(metrics), len(noises))
    fig, axes = plt.subplots(rows, columns, figsize=(2.7 * columns + 0.6, 2.4 * rows + 0.6),
                             sharex=True, sharey=False if metrics_across else "row", squeeze=False)
    for noise_index, noise_spec in enumerate(noises):
        for metric_index, (metric, label) in enumerate(metrics.items()):
            row, column = (noise_index, metric_index) if metrics_across else (metric_index, noise_index)
            ax = axes[row, column]
            for style, frame in zip(LINE_STYLES, frames.values()):
                draw_loss_curves(ax, frame[frame["noise"] == noise_spec], metric, loss_names, colors, x, style,
                                 labelled=style == LINE_STYLES[0], names=names)
            title, ylabel = (label, noise_label(noise_spec)) if metrics_across else (noise_label(noise_spec), label)
            ax.set_title(title if row == 0 else "")
            ax.set_ylabel(ylabel if column == 0 else "")
            if row == rows - 1:
                ax.set_xlabel({"epoch": "epoch", "step": "optimiser step"}.get(x, x))
                ax.xaxis.set_major_locator(_count_ticks())
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if len(frames) > 1:
        handles += [Line2D([], [], color=STYLE_KEY_COLOR, linestyle=style) for style in LINE_STYLES[:len(frames)]]
        labels += list(frames)
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6))
    return fig


def plot_accuracy_against_noise_rate(summaries: pd.DataFrame, loss_names: Sequence[str],
                                     colors: Mapping[str, Any], title: str,
                                     names: Callable[[str], str] = losses.display_name) -> Any:
    """Last-epoch test accuracy (%) of runs (rows of RunSet.summaries) against their realised noise
    rate (%): one panel per kind of noise ("sym", "asym", ...), each with the clean runs at rate 0,
    one line per loss in its colour (``colors``, keyed by the paper's names) through the mean over
    seeds at each noise setting, with error bars of the std over seeds, labelled names(loss); the
    figure titled ``title``. Returns the figure."""
    import matplotlib.pyplot as plt

    summaries = summaries.assign(kind=summaries["noise"].str.partition(":")[0], rate_pct=100 * summaries["noise_rate"],
                                 acc_pct=100 * summaries["final_test_acc"])
    kinds = [kind for kind in dict.fromkeys(summaries["kind"]) if kind != "clean"] or ["clean"]
    fig, axes = plt.subplots(1, len(kinds), figsize=(3.8 * len(kinds), 3.8), sharey=True, squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        panel = summaries[summaries["kind"].isin(["clean", kind])]
        for loss in loss_names:
            rows = panel[panel["loss"] == loss]
            accuracy = mean_std(rows, "acc_pct", ["noise"])
            accuracy["rate_pct"] = accuracy["noise"].map(rows.groupby("noise")["rate_pct"].mean())
            accuracy = accuracy.sort_values("rate_pct")
            name = losses.display_name(loss)
            ax.errorbar(accuracy["rate_pct"], accuracy["mean"], yerr=accuracy["std"].fillna(0), label=names(loss),
                        color=colors[name], marker="o", linewidth=2, capsize=3)
        ax.set(title=f"{noise_kind_label(kind)} noise", xlabel="realised noise rate (%)")
    axes[0, 0].set_ylabel("last-epoch test accuracy (%)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4))
    fig.suptitle(title)
    return fig


def plot_curves_by_setting(curves: pd.DataFrame, setting: str, title: str) -> Any:
    """Per-epoch test accuracy and memorisation (%, the mean over seeds) of runs (rows of
    RunSet.epochs) that differ in column ``setting``: one panel per metric, the figure titled ``title``, one line
    per value of ``setting`` in :func:`setting_colors` (no loss's colour), in order of appearance.
    Returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.4), sharex=True)
    metrics = {"test_acc": "test accuracy (%)", "noisy_acc_given": "memorisation (%)"}
    groups = list(curves.groupby(setting, sort=False))
    for ax, (metric, label) in zip(axes, metrics.items()):
        for (name, group), color in zip(groups, setting_colors(len(groups))):
            curve = mean_std(group, metric, ["epoch"])
            ax.plot(curve["epoch"], 100 * curve["mean"], label=name, color=color, linewidth=2)
        ax.set(xlabel="epoch", ylabel=label)
        ax.xaxis.set_major_locator(_count_ticks())
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4))
    fig.suptitle(title)
    return fig


def plot_alpha_beta_grid(accuracy: pd.DataFrame, title: str) -> Any:
    """A heatmap of the last-epoch test accuracy (%) of ANL-CE over a grid of (alpha, beta):
    ``accuracy`` has one row per alpha and one column per beta; the largest alpha on top, each cell
    annotated with its value, the figure titled ``title``. Returns the figure."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(1.2 * len(accuracy.columns) + 2.6, 1.0 * len(accuracy.index) + 1.6))
    sns.heatmap(accuracy.sort_index(ascending=False), annot=True, fmt=".1f", cmap=SETTING_COLORMAP, ax=ax,
                cbar_kws={"label": "last-epoch test accuracy (%)"})
    ax.set(xlabel="beta (NNCE weight)", ylabel="alpha (NCE weight)", title=title)
    ax.tick_params(axis="y", labelrotation=0)
    return fig


def plot_delta_sweep(sweep: pd.DataFrame, preset_delta: float, title: str) -> Any:
    """Last-epoch test accuracy and memorisation (%) of runs (rows of RunSet.summaries) against their
    L1 weight (column "delta_value"), one evenly spaced point per value in its colour of
    :func:`setting_colors` (smallest delta darkest; a grey line joins them): the mean over seeds with
    error bars of the std, on the whole 0-100 scale; a dotted line marks ``preset_delta``. The
    title, ``title``, says on a second line how many seeds the error bars come from. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.2))
    for ax, (metric, label) in zip(axes, {"final_test_acc": "last-epoch test accuracy (%)",
                                          "final_noisy_acc_given": "memorisation, last epoch (%)"}.items()):
        scores = mean_std(sweep, metric, ["delta_value"]).sort_values("delta_value")
        positions = np.arange(len(scores))
        ax.errorbar(positions, 100 * scores["mean"], yerr=100 * scores["std"].fillna(0), color=JOIN_COLOR,
                    linewidth=1.5, capsize=3)
        ax.scatter(positions, 100 * scores["mean"], c=setting_colors(len(positions)), s=40, zorder=3)
        ax.set_xticks(positions, [f"{value:g}" for value in scores["delta_value"]])
        for position, value in zip(positions, scores["delta_value"]):
            if value == preset_delta:
                ax.axvline(position, color="grey", linestyle=":")
                ax.annotate("preset", (position, 1), xycoords=("data", "axes fraction"), xytext=(3, -12),
                            textcoords="offset points", color="grey")
        # the whole scale: no gap looks larger than it is
        ax.set(xlabel="delta (L1 weight)", ylabel=label, ylim=(0, 100))
    seed_count = sweep.groupby("delta_value").size().min()
    fig.suptitle(title + (f"\n(error bars: std over {seed_count} seeds)" if seed_count > 1
                          else "\n(one seed: no spread shown)"))
    return fig


def plot_predicted_class_shares(er_runs: pd.DataFrame, transition: np.ndarray, classes: Sequence[str],
                                title: str) -> Any:
    """Bars per class of the share (%) of test images predicted as that class by runs (rows of
    RunSet.summaries) of each entropy-regulariser weight (column "lam"; the mean over seeds), read
    from their test confusion matrices, beside the share of training labels given to the class
    under the noise ``transition`` matrix (grey) and, as a dashed line over each class's group, the
    true share; the figure titled ``title``. Returns the figure."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    shares = []
    for _, run in er_runs.iterrows():
        confusion = np.array(run["test_confusion"])
        shares += [{"setting": f"predicted, λ = {run['lam']:g}", "class": c, "share": 100 * v}
                   for c, v in zip(classes, confusion.sum(0) / confusion.sum())]
    first_confusion = er_runs.iloc[0]["test_confusion"]
    true_share = np.array(first_confusion).sum(1) / np.sum(first_confusion)
    given_share = true_share @ np.array(transition)  # train and test class shares agree up to sampling
    shares += [{"setting": "training labels (given, noisy)", "class": c, "share": 100 * v}
               for c, v in zip(classes, given_share)]
    shares = pd.DataFrame(shares).groupby(["setting", "class"], sort=False)["share"].mean().reset_index()
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    palette = setting_colors(er_runs["lam"].nunique()) + [JOIN_COLOR]
    sns.barplot(shares, x="class", y="share", hue="setting", palette=palette, ax=ax)
    ax.hlines(100 * true_share, np.arange(len(classes)) - 0.4, np.arange(len(classes)) + 0.4, colors="black",
              linestyles="--", label="true share (test)")
    ax.set(xlabel="class", ylabel="share of images (%)", title=title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=3, fontsize="small")
    return fig


def draw_transition_matrix(ax: Any, matrix: np.ndarray, dataset: str, title: str) -> None:
    """On ``ax``, a label-noise transition matrix (rows: true class, columns: given label, axes named
    by the short class names of ``dataset``) as a heatmap on the fixed scale 0 to 1, each cell
    annotated with its value in % ("40"; at most three digits, so that the numbers can be set as
    large as the axis labels), cells that round to 0 % left blank."""
    import seaborn as sns

    percent = np.rint(100 * np.asarray(matrix, dtype=float))
    cells = np.where(percent >= 1, np.vectorize(lambda value: f"{value:.0f}")(percent), "")  # never a "0"
    sns.heatmap(matrix, ax=ax, vmin=0, vmax=1, cmap="Blues", annot=cells, fmt="", annot_kws={"fontsize": 9},
                square=True, cbar=False, xticklabels=class_names(dataset), yticklabels=class_names(dataset),
                linewidths=0.3, linecolor="white")
    ax.set(title=title, xlabel="given label", ylabel="true class")
    ax.tick_params(axis="x", labelrotation=90)
    ax.tick_params(axis="y", labelrotation=0)


def plot_transition_matrices(panels: Sequence[tuple[np.ndarray, str, str]], columns: int = 2) -> Any:
    """One heatmap (:func:`draw_transition_matrix`) per (matrix, data set, title) of ``panels``, row
    by row in ``columns`` columns; the unused panels of the last row hidden. Returns the figure."""
    import matplotlib.pyplot as plt

    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(7.5, 3.9 * rows), squeeze=False)
    for ax, (matrix, dataset, title) in zip(axes.flat, panels):
        draw_transition_matrix(ax, matrix, dataset, title)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    return fig


def draw_masks(ax: Any, image: np.ndarray, masks: Mapping[str, tuple[np.ndarray, str]], title: str) -> None:
    """On ``ax`` (axes off), a (3, H, W) uint8 image with the contour of each boolean (H, W) mask of
    ``masks`` ({label: (mask, colour)}); a mask with no contour (empty, or all lesion) is named in a
    note of its colour instead ("noisy: no lesion pixels")."""
    ax.imshow(np.moveaxis(image, 0, -1))
    for label, (mask, color) in masks.items():
        if mask.any() and not mask.all():
            ax.contour(mask.astype(float), levels=[0.5], colors=[color], linewidths=1.2)
        else:
            ax.text(0.5, 0.04, f"{label}: {'no' if not mask.any() else 'all'} lesion pixels", color="white",
                    transform=ax.transAxes, ha="center", va="bottom", fontsize="x-small",
                    bbox={"facecolor": color, "alpha": 0.8, "linewidth": 0})
    ax.set_title(title, fontsize="small")
    ax.set_axis_off()


def plot_mask_noise_examples(images: np.ndarray, clean_masks: np.ndarray, noisy_masks: Mapping[str, np.ndarray],
                             indices: Sequence[int]) -> Any:
    """One row per training image of ``indices`` ((N, 3, H, W) uint8 ``images``), one column per
    mask-noise setting of ``noisy_masks`` ({spec: (N, H, W) noisy masks}): the clean mask in white
    and the noisy one in MASK_NOISE_COLOR (:func:`draw_masks`), each panel titled by the image and
    the setting. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(indices), len(noisy_masks), figsize=(2.6 * len(noisy_masks), 2.1 * len(indices)),
                             squeeze=False)
    for row, index in enumerate(indices):
        for column, (spec, noisy) in enumerate(noisy_masks.items()):
            masks = {"clean": (clean_masks[index], "white"), "noisy": (noisy[index], MASK_NOISE_COLOR)}
            draw_masks(axes[row, column], images[index], masks, f"training image {index}\n{mask_noise_label(spec)}")
    return fig


def plot_segmentation_curves(epochs: pd.DataFrame, noises: Sequence[str], noisy_settings: Sequence[str],
                             loss_names: Sequence[str], colors: Mapping[str, Any]) -> Any:
    """Per-epoch curves of segmentation runs (rows of RunSet.epochs), in %: one row per mask-noise
    setting of ``noises`` (named on the left), a column of test Dice and, when there are
    ``noisy_settings``, a column of the flipped training pixels predicted as in the noisy mask
    (noted "no noisy masks" for the other settings), each column titled by its measure and on one
    scale; one line per loss in its colour, the mean over seeds, with a marker at every epoch and no
    shading (few epochs, two seeds). At most two panels a row, so that the figure keeps the width
    of the page however many settings there are. Returns the figure."""
    import matplotlib.pyplot as plt

    metrics = [("test_dice", "test Dice (%)")] + ([("flipped_fit_given", "flipped pixels fitted (%)")]
                                                 if noisy_settings else [])
    fig, axes = plt.subplots(len(noises), len(metrics), figsize=(3.3 * len(metrics) + 1.2, 1.9 * len(noises) + 0.9),
                             sharex=True, sharey="col", squeeze=False)
    for row, spec in enumerate(noises):
        for column, (metric, label) in enumerate(metrics):
            ax = axes[row, column]
            for loss in loss_names:
                group = epochs[(epochs["noise"] == spec) & (epochs["loss"] == loss)].dropna(subset=[metric])
                if len(group):
                    curve = mean_std(group, metric, ["epoch"])
                    name = losses.display_name(loss)
                    ax.plot(curve["epoch"], 100 * curve["mean"], label=name, color=colors[name], linewidth=1.8,
                            marker="o", markersize=2.5)
            ax.set(xlabel="epoch" if row == len(noises) - 1 else None,
                   ylabel=mask_noise_label(spec).replace(", ", "\n") if column == 0 else None)
            ax.xaxis.set_major_locator(_count_ticks())
            if row == 0:
                ax.set_title(label, fontsize="medium")
            if metric == "flipped_fit_given" and spec not in noisy_settings:
                ax.text(0.5, 0.5, "no noisy masks", transform=ax.transAxes, ha="center", color="grey")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5))
    return fig


def plot_example_predictions(images: np.ndarray, clean_masks: np.ndarray, noisy_masks: np.ndarray,
                             predictions: Mapping[str, np.ndarray], indices: Sequence[int],
                             colors: Mapping[str, Any], title: str) -> Any:
    """One row per test image of ``indices`` ((N, 3, H, W) uint8 ``images``, (N, H, W) ``clean_masks``
    and each loss's predicted masks of ``predictions``, all at one size), named by its index: the
    clean mask (white), then a noisy mask (``noisy_masks``, one per row, in MASK_NOISE_COLOR) over
    it, then each loss's prediction in its colour over it; the columns titled on the first row, the
    figure titled ``title``. Returns the figure."""
    import matplotlib.pyplot as plt

    columns = 2 + len(predictions)
    fig, axes = plt.subplots(len(indices), columns, figsize=(1.75 * columns, 1.45 * len(indices)), squeeze=False)
    for row, index in enumerate(indices):
        image, clean = images[index], clean_masks[index]
        draw_masks(axes[row, 0], image, {"clean": (clean, "white")}, "clean mask" if row == 0 else "")
        draw_masks(axes[row, 1], image, {"clean": (clean, "white"), "noise": (noisy_masks[row], MASK_NOISE_COLOR)},
                   "noise on this mask" if row == 0 else "")
        for column, (loss, masks) in enumerate(predictions.items(), start=2):
            name = losses.display_name(loss)
            prediction = {"clean": (clean, "white"), "prediction": (masks[index], colors[name])}
            draw_masks(axes[row, column], image, prediction, name if row == 0 else "")
        axes[row, 0].text(-0.08, 0.5, f"test {index}", transform=axes[row, 0].transAxes, rotation=90,
                          ha="right", va="center", fontsize="small")
    fig.suptitle(title, fontsize="medium")
    return fig


def plot_gradient_norms(panels: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]], title: str) -> Any:
    """The norm of a loss's gradient with respect to the logits against p(y|x) of the given label,
    on a log scale from 1e-4 to 3: one panel per family of losses (``panels``: {panel title: {loss:
    (p_y, norm)}}), one line per loss in its colour, MAE dashed (the reference in each family); the
    figure titled ``title``. Returns the figure."""
    import matplotlib.pyplot as plt

    colors = loss_colors(list(dict.fromkeys(loss for curves in panels.values() for loss in curves)))
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.6), sharey=True)
    for ax, (panel_title, curves) in zip(axes, panels.items()):
        for loss, (p_y, norm) in curves.items():
            label = losses.display_name(loss)
            ax.plot(p_y, norm, label=label, color=colors[label], linewidth=2, linestyle="--" if loss == "mae" else "-")
        ax.set(title=panel_title, xlabel="p(y|x) of the given label", yscale="log", xlim=(0, 1), ylim=(1e-4, 3),
               xticks=[0, 0.2, 0.4, 0.6, 0.8, 1], xticklabels=["0", "0.2", "0.4", "0.6", "0.8", "1"])
        ax.legend(loc="lower center", ncols=2)
    axes[0].set_ylabel("logit-gradient norm ||dL/dz||")
    fig.suptitle(title)
    return fig



def plot_tuning_trials(trials: pd.DataFrame, presets: Mapping[tuple[str, str], Mapping[str, float]],
                       x: str, y: str, title: str) -> Any:
    """The trials of tuning searches (rows of :func:`anl.report.tuning.trials_frame`): a row of
    panels per loss and noise, a column per validation split (clean labels, noisy labels: their
    accuracies are on different scales, so each panel has its own colour bar): hyperparameter
    ``x`` against ``y`` on log axes, each completed trial a dot coloured by its last-epoch
    validation accuracy (%, SETTING_COLORMAP), trials stopped early grey crosses, the preset of
    ``presets[(loss, noise)]`` a black star. Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    cells = list(dict.fromkeys(zip(trials["loss"], trials["noise"])))
    validations = list(dict.fromkeys(trials["validation"]))
    fig, axes = plt.subplots(len(cells), len(validations), figsize=(7.5, 2.9 * len(cells)), squeeze=False)
    for row, (loss, noise) in zip(axes, cells):
        for ax, validation in zip(row, validations):
            search = trials[(trials["loss"] == loss) & (trials["noise"] == noise) & (trials["validation"] == validation)]
            stopped, done = search[search["state"] != "COMPLETE"], search[search["state"] == "COMPLETE"]
            ax.scatter(stopped[x], stopped[y], marker="x", color=JOIN_COLOR, s=30)
            dots = ax.scatter(done[x], done[y], c=100 * done["val_acc"], cmap=SETTING_COLORMAP, s=40,
                              edgecolors="black", linewidths=0.4)
            if len(done):
                fig.colorbar(dots, ax=ax, label="val. accuracy (%)")
            preset = presets[(loss, noise)]
            ax.scatter([preset[x]], [preset[y]], marker="*", color="black", s=140, zorder=3)
            ax.set(xscale="log", yscale="log", xlabel=x, ylabel=y,
                   title=f"{losses.display_name(loss)}, {noise_label(noise)}, {validation} validation")
    keys = [Line2D([], [], marker="x", linestyle="", color=JOIN_COLOR, label="trial stopped early"),
            Line2D([], [], marker="*", linestyle="", color="black", markersize=10, label="published preset")]
    fig.legend(handles=keys, loc="outside lower center", ncols=len(keys))
    fig.suptitle(title)
    return fig
