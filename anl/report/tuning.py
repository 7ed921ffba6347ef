"""Internal: the tuning studies on the page: where each search stands and what it chose, its trials (the
sensitivity of the validation accuracy to the hyperparameters), and the chosen settings trained at
the paper's protocol beside the presets' runs."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from anl import experiments, tune
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
    at the paper's protocol as mean, std (ddof 1) and n over the recorded seeds, and ``vs_preset``,
    the mean over seeds of (setting − preset) paired by seed (NaN without a common seed)."""
    store = ResultsStore(results_dir)
    recorded = [(setting, config) for setting, config in pairs if store.has(config.key)]
    columns = ["loss", "noise", "setting", "mean", "std", "n", "vs_preset"]
    if not recorded:
        return pd.DataFrame(columns=columns)
    scores = load_summaries(store.root).set_index("key")["final_test_acc"]
    runs = pd.DataFrame([{"loss": config.loss, "noise": config.noise, "setting": setting, "seed": config.seed,
                          "acc": float(scores[config.key])} for setting, config in recorded])
    presets = runs[runs["setting"] == "preset"].set_index(["loss", "noise", "seed"])["acc"]
    rows = []
    for (loss, noise, setting), group in runs.groupby(["loss", "noise", "setting"], sort=False):
        paired = [acc - presets[(loss, noise, seed)] for seed, acc in zip(group["seed"], group["acc"])
                  if (loss, noise, seed) in presets.index]
        rows.append({"loss": loss, "noise": noise, "setting": setting, "mean": group["acc"].mean(),
                     "std": group["acc"].std(), "n": len(group),
                     "vs_preset": sum(paired) / len(paired) if paired else float("nan")})
    return pd.DataFrame(rows, columns=columns)

