"""Internal: the tuning studies on the page: where each search stands and what it chose, its trials (the
sensitivity of the validation accuracy to the hyperparameters), and the chosen settings trained at
the paper's protocol beside the presets' runs."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import pandas as pd

from anl import experiments, losses, tune
from anl.report.labels import format_number, noise_cell, nowrap
from anl.report.stats import format_mean_std
from anl.report.tables import HPARAM_SYMBOLS
from anl.report.verdicts import MEASURES, verdict
from anl.results import ResultsStore, load_summaries
from anl.train import RunConfig

SEARCH_COLUMNS = ("loss", "noise", "validation", "finished", "trials", "best_val_acc", "best_key")


def _summaries(name: str, results_dir: str | os.PathLike[str] | None) -> list[tuple[experiments.TuningStudy, dict | None]]:
    store = ResultsStore(results_dir)
    return [(search, tune.read_summary(search.base, store)) for search in experiments.study(name)]


def search_rows(name: str, results_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """One row per search of study ``name``, in the study's order: loss, noise, validation, finished
    trials of ``trials``, the best validation accuracy and run key, and one column per tuned
    hyperparameter holding its chosen value (NaN and None before the search has run)."""
    rows = []
    for search, summary in _summaries(name, results_dir):
        base = search.base
        best = (summary or {}).get("best") or {}
        rows.append({"loss": base.loss, "noise": base.noise, "validation": base.validation,
                     "finished": (summary or {}).get("finished", 0), "trials": search.trials,
                     "best_val_acc": best.get("val_acc"), "best_key": best.get("key"),
                     **{hparam: (best.get("params") or {}).get(hparam) for hparam in tune.search_space(base)}})
    return pd.DataFrame(rows).astype({"best_val_acc": float})


def trials_frame(name: str, results_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """One row per trial of every search of study ``name`` that has a summary: loss, noise,
    validation, number, state (COMPLETE, PRUNED, FAIL), its validation accuracy (NaN unless
    complete) and one column per hyperparameter; no rows before any trial."""
    columns = ["loss", "noise", "validation", "number", "state", "val_acc"]
    rows = [{"loss": search.base.loss, "noise": search.base.noise, "validation": search.base.validation,
             "number": trial["number"], "state": trial["state"], "val_acc": trial["val_acc"], **trial["params"]}
            for search, summary in _summaries(name, results_dir) if summary is not None
            for trial in summary["trials"]]
    return pd.DataFrame(rows or None, columns=None if rows else columns).astype({"val_acc": float})


def chosen_and_preset_runs(name: str, results_dir: str | os.PathLike[str] | None = None
                           ) -> list[tuple[str, RunConfig]]:
    """(setting, config) pairs of the runs that answer study ``name`` at the paper's protocol and
    seeds TUNED_SEEDS of :mod:`anl.experiments`, per loss and noise of the study: "preset" (the
    published preset: the runs of mnist-full), then "clean" and "noisy" (the setting each
    validation split chose, :func:`anl.experiments.chosen_setting`) where that search is done."""
    store = ResultsStore(results_dir)
    searches = experiments.study(name)
    pairs: list[tuple[str, RunConfig]] = []
    for loss, noise in dict.fromkeys((search.base.loss, search.base.noise) for search in searches):
        alike = [search for search in searches if (search.base.loss, search.base.noise) == (loss, noise)]
        base = alike[0].base
        pairs += [("preset", experiments.run_config(base.dataset, loss, noise, seed, precision=base.precision))
                  for seed in experiments.TUNED_SEEDS]
        for search in alike:
            best = experiments.chosen_setting(search, store)
            pairs += [(search.base.validation, experiments.tuned_config(search, best, seed))
                      for seed in (experiments.TUNED_SEEDS if best is not None else ())]
    return pairs


def tuned_against_presets(pairs: Sequence[tuple[str, RunConfig]],
                          results_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Per loss, noise and setting (preset, clean, noisy) of ``pairs``: the last-epoch test accuracy
    at the paper's protocol as ``mean``, ``std`` (ddof 1) and ``n`` over the recorded seeds; for a
    chosen setting, ``vs_preset`` (the mean over seeds of setting − preset, paired by seed) and
    ``verdict``, the verdict rule of the claims (:func:`anl.report.verdicts.verdict`, the accuracy
    margin) on "the chosen setting beats the preset"; for the noisy split's choice, ``vs_clean``
    (noisy − clean, paired by seed: what a noisy validation split costs). NaN or "" where not
    applicable; no rows when nothing is recorded."""
    store = ResultsStore(results_dir)
    recorded = [(setting, config) for setting, config in pairs if store.has(config.key)]
    columns = ["loss", "noise", "setting", "mean", "std", "n", "vs_preset", "verdict", "vs_clean"]
    if not recorded:
        return pd.DataFrame(columns=columns)
    scores = load_summaries(store.root).set_index("key")["final_test_acc"]
    runs = pd.DataFrame([{"loss": config.loss, "noise": config.noise, "setting": setting, "seed": config.seed,
                          "acc": float(scores[config.key])} for setting, config in recorded])
    by_seed = runs.set_index(["loss", "noise", "setting", "seed"])["acc"].sort_index()
    margin = MEASURES["accuracy"].margin
    rows = []
    for (loss, noise, setting), group in runs.groupby(["loss", "noise", "setting"], sort=False):
        row = {"loss": loss, "noise": noise, "setting": setting, "mean": group["acc"].mean(),
               "std": group["acc"].std(), "n": len(group), "vs_preset": math.nan, "verdict": "", "vs_clean": math.nan}
        if setting != "preset":
            against_preset = _paired(by_seed, (loss, noise, setting), (loss, noise, "preset"))
            row["vs_preset"] = sum(against_preset) / len(against_preset) if against_preset else math.nan
            row["verdict"] = verdict(against_preset, margin).label
        if setting == "noisy":
            against_clean = _paired(by_seed, (loss, noise, "noisy"), (loss, noise, "clean"))
            row["vs_clean"] = sum(against_clean) / len(against_clean) if against_clean else math.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def _paired(by_seed: pd.Series, candidate: tuple[str, str, str], baseline: tuple[str, str, str]) -> list[float]:
    """candidate − baseline on every seed both have, in seed order."""
    first = by_seed.loc[candidate] if candidate in by_seed.index.droplevel("seed") else pd.Series(dtype=float)
    second = by_seed.loc[baseline] if baseline in by_seed.index.droplevel("seed") else pd.Series(dtype=float)
    return [float(first[seed] - second[seed]) for seed in sorted(set(first.index) & set(second.index))]


def search_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`search_rows` as the page shows them: loss, noise, validation split,
    "finished of trials", the chosen value of each hyperparameter ("–" before the search is done)
    and its validation accuracy (%)."""
    hparams = [column for column in rows.columns if column not in SEARCH_COLUMNS]
    done = rows["finished"] >= rows["trials"]

    def chosen(row: pd.Series, hparam: str) -> str:
        return f"{row[hparam]:.3g}" if done[row.name] and pd.notna(row[hparam]) else "–"

    return pd.DataFrame({
        "Loss": rows["loss"].map(losses.display_name), "Noise": rows["noise"].map(noise_cell),
        "Validation labels": rows["validation"],
        "Trials": [nowrap(f"{f} of {t}") for f, t in zip(rows["finished"], rows["trials"])],
        **{f"chosen {HPARAM_SYMBOLS.get(hparam, hparam)}": [chosen(row, hparam) for _, row in rows.iterrows()]
           for hparam in hparams},
        "Validation accuracy (%)": [format_number(100 * acc, 2) if ok and pd.notna(acc) else "–"
                                    for acc, ok in zip(rows["best_val_acc"], done)]}).set_index("Loss")


SETTING_NAMES = {"preset": "published preset", "clean": "chosen on clean labels", "noisy": "chosen on noisy labels"}


def comparison_table(compared: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`tuned_against_presets` as the page shows them: loss, noise, setting, test
    accuracy (%, mean ± std over n seeds) and n, the paired difference to the preset with its
    verdict, and for the noisy split's choice the paired difference to the clean split's."""
    def signed(value: float) -> str:
        return "–" if pd.isna(value) else format_number(100 * value, 2, signed=True)

    return pd.DataFrame({
        "Loss": compared["loss"].map(losses.display_name), "Noise": compared["noise"].map(noise_cell),
        "Setting": compared["setting"].map(SETTING_NAMES),
        "Test accuracy (%)": [format_mean_std(mean, std) for mean, std in zip(compared["mean"], compared["std"])],
        "n": compared["n"],
        "vs preset": compared["vs_preset"].map(signed), "Beats the preset": compared["verdict"].replace("", "–"),
        "Noisy vs clean choice": compared["vs_clean"].map(signed)}).set_index("Loss")
