"""Internal: the runs a page reads: the only module of anl.report that trains (runs missing from the store),
and the rows of the runs of one page section."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from anl import losses
from anl.data import SEGMENTATION_DATASETS
from anl.report.labels import noise_label
from anl.report.protocol import protocol_sentence, segmentation_protocol_sentence
from anl.results import ResultsStore, load_results, load_summaries
from anl.experiments import train_configs
from anl.segmentation import SegmentationConfig
from anl.train import RunConfig


@dataclass(frozen=True)
class RunSet:
    """Exactly the runs a notebook asked for: one summary row per run (in the order asked), one
    row per run and epoch, and the raw records (for provenance)."""

    summaries: pd.DataFrame
    epochs: pd.DataFrame
    records: tuple[dict[str, Any], ...]

    def protocol(self) -> str:
        """The protocol paragraph of these runs' records (segmentation or classification)."""
        if all(record["config"]["dataset"] in SEGMENTATION_DATASETS for record in self.records):
            return segmentation_protocol_sentence(self.records)
        return protocol_sentence(self.records)


def load_runs(configs: Sequence[RunConfig] | Sequence[SegmentationConfig],
              results_dir: str | os.PathLike[str] | None = None, *, train: bool = True,
              device: str | None = None) -> RunSet:
    """The records of ``configs`` from the store at ``results_dir`` (default: the repository's
    results/), matched by their ``key`` (canonical: overrides restating the preset, or written 1
    for 1.0, give the same key), in the order of ``configs`` (duplicates once). Missing runs are
    trained first (progress bars on) when ``train``, by :func:`anl.experiments.train_configs`; else a
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
        train_configs(missing, store, device=device, progress=True)
    order = {key: index for index, key in enumerate(wanted)}
    summaries = _select(load_summaries(store.root), order)
    epochs = _select(load_results(store.root), order, "epoch")
    return RunSet(summaries, epochs, tuple(store.read(key) for key in order))


def recorded_runs(configs: Sequence[RunConfig] | Sequence[SegmentationConfig],
                 results_dir: str | os.PathLike[str] | None = None) -> tuple[RunSet | None, list]:
    """The RunSet of those of ``configs`` recorded in the store at ``results_dir`` (None when none
    is), and the configs not recorded yet, in order: for a page that shows runs as they land."""
    store = ResultsStore(results_dir)
    recorded = [config for config in configs if store.has(config.key)]
    missing = [config for config in configs if not store.has(config.key)]
    return (load_runs(recorded, results_dir, train=False) if recorded else None), missing


def run_status(name: str, configs: Sequence[RunConfig], missing: Sequence[RunConfig]) -> str:
    """"- NAME: R of N runs recorded; still to run: LOSS NOISE seed S [fold F], ..." (or "- NAME: N of N runs
    recorded."): a Markdown list item for a page that shows runs as they land, ``missing`` being
    those of ``configs`` that :func:`recorded_runs` did not find."""
    waiting = ", ".join(f"{losses.display_name(c.loss)} {noise_label(c.noise)} seed {c.seed}"
                        + (f" fold {c.holdout_fold}" if getattr(c, "holdout_folds", None) else "") for c in missing)
    return (f"- {name}: {len(configs) - len(missing)} of {len(configs)} runs recorded"
            + (f"; still to run: {waiting}." if missing else "."))


def grid_status(entries: Sequence[tuple[str, RunConfig]], missing: Sequence[RunConfig]) -> str:
    """One :func:`run_status` line per grid named in ``entries`` ((grid name, config) pairs), in the
    order the grids first appear, each counting its configs and those of ``missing`` among them."""
    lines = []
    for name in dict.fromkeys(name for name, _ in entries):
        whole = [config for grid, config in entries if grid == name]
        lines.append(run_status(name, whole, [config for config in whole if config in missing]))
    return "\n".join(lines)


def _select(frame: pd.DataFrame, order: Mapping[str, int], *then: str) -> pd.DataFrame:
    rows = frame[frame["key"].isin(order)].copy()
    rows["run_index"] = rows["key"].map(order)
    return rows.sort_values(["run_index", *then]).drop(columns="run_index").reset_index(drop=True)


def section_runs(frame: pd.DataFrame, entries: Sequence[tuple[Any, RunConfig]], label: str) -> pd.DataFrame:
    """The rows of ``frame`` (summaries or epochs, with a ``key`` column) of the runs of ``entries``
    ((setting, config) pairs, as :func:`anl.experiments.ablation_configs` gives them), with each
    run's setting in a new column ``label``; a run listed under two settings keeps the first."""
    settings = pd.DataFrame([(config.key, setting) for setting, config in entries], columns=["key", label])
    return frame.merge(settings.drop_duplicates("key"), on="key")
