"""Internal: statistics of runs: mean and std per group, rankings and the findings stated from them, training
dynamics per run (with the one definition of convergence), and claim checks (every candidate
against every baseline, or against a bar), judged by the rule of :mod:`anl.report.verdicts`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from anl import losses
from anl.report.labels import format_number, noise_label, nowrap
from anl.report.verdicts import Measure, Verdict, verdict


def mean_std(frame: pd.DataFrame, metric: str, by: Sequence[str]) -> pd.DataFrame:
    """mean, std (ddof 1; NaN for one run) and n of ``metric`` per group, groups in order of appearance."""
    grouped = frame.groupby(list(by), sort=False)[metric]
    return grouped.agg(mean="mean", std="std", n="count").reset_index()


PLUS_MINUS = "\u00a0±\u00a0"


def format_mean_std(mean: float, std: float, scale: float = 100.0, decimals: int = 2) -> str:
    """"87.16 ± 0.35" (scaled), with no-break spaces around ± so that a table cell never wraps
    inside it; the mean alone when std is NaN (one run); "–" when mean is NaN; never "-0.00"."""
    if np.isnan(mean):
        return "–"
    text = format_number(mean * scale, decimals)
    return text if np.isnan(std) else f"{text}{PLUS_MINUS}{format_number(std * scale, decimals)}"


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


def realised_noise_rates(summaries: pd.DataFrame) -> pd.Series:
    """The realised share of wrong training labels per noise setting (the mean ``noise_rate`` of its
    runs), indexed by noise spec in order of appearance."""
    return summaries.groupby("noise", sort=False)["noise_rate"].mean()


def loss_ranking(summaries: pd.DataFrame, noise: str, metric: str,
                 loss_names: Sequence[str] | None = None) -> pd.Series:
    """Mean ``metric`` per loss over the runs at ``noise``, best first (ties in order of appearance);
    only the losses of ``loss_names`` when given. Losses without such runs are left out."""
    means = summaries[summaries["noise"] == noise].groupby("loss", sort=False)[metric].mean()
    if loss_names is not None:
        means = means.reindex(loss_names)
    return means.dropna().sort_values(ascending=False, kind="stable")


def ranking_line(summaries: pd.DataFrame, noise: str, label: str, metric: str, seed_gaps: bool) -> str | None:
    """"- **label**: the losses by mean ``metric`` (over seeds) at ``noise``, best first, in % (ANL-CE
    − CE: gap points[; the gap of each seed])", the gap where both ran; None without runs at ``noise``."""
    ranking = loss_ranking(summaries, noise, metric)
    if ranking.empty:
        return None
    ranked = ", ".join(f"{losses.display_name(loss)} {100 * value:.1f}" for loss, value in ranking.items())
    line = f"- **{label}**: {ranked}"
    if {"anl_ce", "ce"} <= set(ranking.index):
        gap = f"ANL-CE − CE: {format_number(100 * (ranking['anl_ce'] - ranking['ce']), 1, signed=True)} points"
        if seed_gaps:
            per_seed = summaries[summaries["noise"] == noise].pivot(index="seed", columns="loss", values=metric)
            gap += "; " + ", ".join(f"seed {seed} {format_number(100 * seed_gap, 1, signed=True)}"
                                    for seed, seed_gap in (per_seed["anl_ce"] - per_seed["ce"]).items())
        line += f" ({gap})"
    return line


def optimiser_steps(frame: pd.DataFrame, epochs: str = "epoch") -> pd.Series:
    """Optimiser steps taken in ``frame[epochs]`` epochs: epochs x ceil(train_size / batch_size)
    (the last, smaller batch of an epoch is a step too). ``epochs="epochs"`` gives a run's total."""
    return frame[epochs] * np.ceil(frame["train_size"] / frame["batch_size"]).astype(int)


def convergence_rule(fraction: float) -> str:
    """The definition of convergence every page states (the one :func:`run_dynamics` computes)."""
    return (f"*Convergence* is read against one bar per noise setting, the same for every loss: "
            f"{100 * fraction:g} % of the highest last-epoch test accuracy any loss reaches there (mean over its "
            f"seeds). A run's *epochs to the bar* is the first epoch from which its test accuracy stays at or above "
            f"the bar to the last epoch; a run that ends below the bar counts as its last epoch + 1, so a loss that "
            f"stalls, or that passes the bar early and then collapses, never converges first. Test accuracy after "
            f"fixed early epochs completes the picture.")


def convergence_bars(epochs: pd.DataFrame, fraction: float) -> pd.Series:
    """Per noise setting of the per-epoch rows ``epochs``: ``fraction`` x the highest, over losses,
    of the mean over seeds of the runs' last-epoch test accuracy (see :func:`convergence_rule`)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"convergence_fraction must be in (0, 1], got {fraction}")
    last = epochs.loc[epochs.groupby("key")["epoch"].idxmax()]
    return fraction * last.groupby(["noise", "loss"])["test_acc"].mean().groupby("noise").max()


def run_dynamics(epochs: pd.DataFrame, convergence_fraction: float = 0.95) -> pd.DataFrame:
    """One row per run of the per-epoch rows ``epochs`` (key, loss, noise, seed, in order of
    appearance): the ``bar`` of its noise setting (:func:`convergence_bars`, every loss in ``epochs``
    at that setting counts), ``reached_bar``, the first epoch from which the test accuracy stays at or
    above it to the last epoch (the run's last epoch + 1 when the last is below) and ``cleared_bar``
    (whether the last epoch is at or above it); ``final_test`` and
    ``final_memorisation`` (noisy_acc_given) at the last epoch; ``peak_memorisation``, the largest
    noisy_acc_given of any epoch."""
    bars = convergence_bars(epochs, convergence_fraction)

    def scores(run: pd.DataFrame) -> pd.Series:
        bar = bars[run.name[2]]
        run = run.sort_values("epoch")
        last = run.iloc[-1]
        below = run.loc[run["test_acc"] < bar, "epoch"]
        # the epoch after the last one below the bar (the first when none is): from there on it stays above
        stays_from = float(run["epoch"].iloc[0] if below.empty else below.max() + 1)
        return pd.Series({"bar": bar, "reached_bar": stays_from,
                          "cleared_bar": bool(last["test_acc"] >= bar), "final_test": last["test_acc"],
                          "final_memorisation": last["noisy_acc_given"], "peak_memorisation": run["noisy_acc_given"].max()})

    grouped = epochs.groupby(["key", "loss", "noise", "seed"], sort=False)
    return grouped.apply(scores, include_groups=False).reset_index()


def accuracy_at_epochs(epochs: pd.DataFrame, at: Sequence[int]) -> pd.DataFrame:
    """One row per run of the per-epoch rows ``epochs`` (key, loss, noise, seed, in order of
    appearance) with its test accuracy after each epoch of ``at`` in a column ``test_acc_at_<epoch>``:
    how far a loss has come early in training, whatever it reaches later."""
    runs = epochs.groupby(["key", "loss", "noise", "seed"], sort=False)
    short = runs["epoch"].max().min()
    if any(epoch > short for epoch in at):
        raise ValueError(f"epochs {list(at)} asked for, but a run has only {short} epochs")
    table = runs.size().reset_index()[["key", "loss", "noise", "seed"]]
    for epoch in at:
        scores = epochs[epochs["epoch"] == epoch].set_index("key")["test_acc"]
        table[f"test_acc_at_{epoch}"] = table["key"].map(scores).to_numpy()
    return table


@dataclass(frozen=True)
class ClaimCheck:
    """A claim "every candidate beats every baseline" tested on runs: mean, std and count of the
    metric per candidate and per baseline group over seeds (columns mean, std, n), the margin of the
    worst candidate over the best baseline on those means (positive favours the claim, in the
    metric's units, sign-flipped when lower is better), and the same margin on each seed's runs alone
    where every group ran (``seed_margins``: the paired differences the verdict is taken on)."""

    candidates: pd.DataFrame
    baselines: pd.DataFrame
    margin: float
    seed_margins: pd.Series
    bar: float | None = None  # an absolute bar in place of the baselines (bar_check)

    @property
    def seeds_holding(self) -> int:
        return int((self.seed_margins > 0).sum())

    @property
    def seeds(self) -> int:
        return len(self.seed_margins)

    def verdict(self, measure: Measure) -> Verdict:
        """The rule of :mod:`anl.report.verdicts` on the paired differences, with the measure's
        equivalence margin (0 against an absolute bar)."""
        return verdict(self.seed_margins, 0.0 if self.bar is not None else measure.margin)

    def cells(self, measure: Measure, names: Callable[[Any], str] = str) -> dict[str, str]:
        """The check as table cells, in the measure's unit: candidates and baselines ("name mean ± std
        (n)", the std left out for one seed), the margin on the means ("+1.2 points"), the paired
        difference over seeds ("+1.1 ± 0.4 points (3)"), its interval, "k of n" seeds favouring the
        claim and the verdict."""
        scale, decimals, unit = measure.scale, measure.decimals, measure.unit

        def stated(mean: float, std: float, count: int) -> str:
            return f"{format_mean_std(mean, std, scale, decimals)}\u00a0({count})"

        def name(group: Any) -> str:  # breaks between words of a long name, never at a hyphen ("ANL-CE", "1e-06")
            return " ".join(nowrap(word) for word in names(group).split(" "))

        def listed(stats: pd.DataFrame) -> str:  # an entry wraps only after its comma or inside a long name
            return ", ".join(f"{name(group)}\u00a0{stated(row['mean'], row['std'], int(row['n']))}"
                             for group, row in stats.iterrows())
        baselines = listed(self.baselines) if self.bar is None else f"bar {measure.shown(self.bar)}"
        judged = self.verdict(measure)
        # no-break spaces: a narrow column wraps before the seed count, never inside a number and its unit
        paired = "–"
        if self.seeds:
            mean = measure.shown(judged.mean, signed=True)
            spread = "" if self.seeds < 2 else f"{PLUS_MINUS}{measure.shown(self.seed_margins.std())}"
            paired = f"{mean}{spread}\u00a0{unit} ({self.seeds})"
        interval = ("–" if not judged.decided else
                    f"[{measure.shown(judged.low, signed=True)}, {measure.shown(judged.high, signed=True)}]")
        return {"candidates": listed(self.candidates), "baselines": baselines,
                "margin": f"{measure.shown(self.margin, signed=True)}\u00a0{unit}", "paired difference": paired,
                "interval": interval, "seeds": f"{self.seeds_holding} of {self.seeds}", "verdict": judged.label}


def _group_stats(runs: pd.DataFrame, group: str, metric: str, wanted: Sequence[Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean, std and n of ``metric`` per group of ``wanted`` over seeds, and the mean per seed (the
    seeds where every group ran); ValueError naming the groups without runs."""
    missing = [name for name in wanted if not (runs[group] == name).any()]
    if missing:
        raise ValueError(f"no runs of {', '.join(map(str, missing))} in column {group!r}")
    rows = runs[runs[group].isin(wanted)]
    stats = mean_std(rows, metric, [group]).set_index(group)
    per_seed = rows.pivot_table(index="seed", columns=group, values=metric, aggfunc="mean").reindex(columns=wanted)
    return stats, per_seed.dropna()


def _seed_margins(per_seed: pd.DataFrame, margin: Callable[[pd.Series], float]) -> pd.Series:
    return pd.Series([margin(means) for _, means in per_seed.iterrows()], index=per_seed.index, dtype=float)


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

    stats, complete = _group_stats(runs, group, metric, [*candidates, *baselines])
    return ClaimCheck(stats.loc[list(candidates)], stats.loc[list(baselines)], margin(stats["mean"]),
                      _seed_margins(complete, margin))


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

    stats, complete = _group_stats(runs, group, metric, list(candidates))
    return ClaimCheck(stats.loc[list(candidates)], stats.iloc[:0], margin(stats["mean"]),
                      _seed_margins(complete, margin), bar=bar)


@dataclass(frozen=True)
class ShorterProtocolCheck:
    """Whether a shorter protocol may stand in for a longer one: per noise setting and loss, the mean
    last-epoch accuracy under each (``table``: noise, loss, long, short, difference = short - long)
    and the ranking of the losses under each. The shorter protocol is adopted when every difference
    is within ``tolerance`` (accuracy as a fraction) and every ranking is the same, which needs both
    protocols to have run every loss at every noise setting (``missing`` lists what lacks). It is
    rejected as soon as one recorded difference is beyond the bound or two recorded losses swap
    places: runs still missing cannot undo either."""

    table: pd.DataFrame
    same_ranking: dict[str, bool]
    tolerance: float
    missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def worst(self) -> pd.Series:
        """The row of the largest absolute difference."""
        return self.table.loc[self.table["difference"].abs().idxmax()]

    @property
    def beyond_bound(self) -> bool:
        """Whether a recorded difference exceeds the tolerance."""
        return bool((self.table["difference"].abs() > self.tolerance).any())

    @property
    def rejected(self) -> bool:
        return self.beyond_bound or not all(self.same_ranking.values())

    @property
    def adopted(self) -> bool:
        return self.complete and not self.rejected

    def verdict(self, long_name: str, short_name: str) -> str:
        """One sentence: adopted, rejected (by how much, and which rankings changed; possibly before
        every run is recorded) or not yet judged (with what the recorded runs show so far)."""
        largest = ""
        if len(self.table):
            worst = self.worst
            largest = (f"the largest difference is {format_number(100 * worst['difference'], 2, signed=True)} points "
                       f"({losses.display_name(worst['loss'])}, {noise_label(worst['noise'])})")
        missing = f"{len(self.missing)} of the runs the rule needs are not recorded ({', '.join(self.missing)})"
        if self.rejected:
            reasons = []
            if self.beyond_bound:
                reasons.append(f"{largest}, beyond the {100 * self.tolerance:g}-point bound")
            changed = [noise_label(noise) for noise, same in self.same_ranking.items() if not same]
            if changed:
                reasons.append(f"the ranking changes at {', '.join(changed)}")
            return (f"**Rejected**: {'; '.join(reasons)}."
                    + (f" {missing[0].upper()}{missing[1:]}; they cannot change this." if self.missing else ""))
        if self.missing:
            so_far = (f" So far every recorded loss is within {100 * self.tolerance:g} points and ranked the same; "
                      f"{largest}." if len(self.table) else "")
            return f"Not judged yet: {missing}.{so_far}"
        return (f"**Adopted**: every loss ends within {100 * self.tolerance:g} points of its {long_name} "
                f"accuracy under the {short_name} protocol and the ranking is the same; {largest}.")


def shorter_protocol_check(long: pd.DataFrame, short: pd.DataFrame, tolerance: float,
                           metric: str = "final_test_acc",
                           cells: Sequence[tuple[str, str]] | None = None) -> ShorterProtocolCheck:
    """Compare the summaries of the same losses and noise settings under a long and a short
    protocol (one row per run, with loss, noise and ``metric``; means over seeds) by the rule of
    :class:`ShorterProtocolCheck`: every loss within ``tolerance`` and the same ranking. ``cells``:
    the (noise, loss) pairs the rule needs, default those either protocol ran."""
    if not tolerance > 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance}")
    means = {name: frame.groupby(["noise", "loss"], sort=False)[metric].mean()
             for name, frame in (("long", long), ("short", short))}
    if cells is None:
        cells = list(dict.fromkeys([*means["long"].index, *means["short"].index]))
    missing = tuple(f"{losses.display_name(loss)} {noise_label(noise)} ({name})" for noise, loss in cells
                    for name in ("long", "short") if (noise, loss) not in means[name].index)
    both = [cell for cell in cells if cell in means["long"].index and cell in means["short"].index]
    table = pd.DataFrame([{"noise": noise, "loss": loss, "long": means["long"][(noise, loss)],
                           "short": means["short"][(noise, loss)]} for noise, loss in both],
                         columns=["noise", "loss", "long", "short"])
    table["difference"] = table["short"] - table["long"]
    same_ranking = {noise: list(rows.sort_values("long", ascending=False, kind="stable")["loss"])
                    == list(rows.sort_values("short", ascending=False, kind="stable")["loss"])
                    for noise, rows in table.groupby("noise", sort=False)}
    return ShorterProtocolCheck(table, same_ranking, tolerance, missing)
