"""Internal: the published numbers the book sets beside its own, read from ``published.json`` (shipped with
the package): test accuracies (%) per loss and noise setting, each with its source (first-hand or
re-reported) and its std over seeds where one is published, and the label the tables give them. Only
one data set has published numbers available here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

from anl import experiments, losses
from anl.report.stats import PLUS_MINUS
from anl.train import RunConfig


def _read() -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath("published.json").read_text(encoding="utf-8"))


_PUBLISHED = _read()
#: The column label of the published numbers in a table.
PUBLISHED_LABEL: str = _PUBLISHED["label"]
#: Where the published numbers of the ANL losses and their baselines come from, as a page states it.
PUBLISHED_SOURCE: str = _PUBLISHED["sources"]["anl-jal"]
#: The data set the published numbers are of.
PUBLISHED_DATASET: str = _PUBLISHED["dataset"]
#: (canonical loss name, noise spec) -> published test accuracy in %.
PUBLISHED: dict[tuple[str, str], float] = {(row["loss"], row["noise"]): row["accuracy"]
                                           for row in _PUBLISHED["accuracy"]}
#: (canonical loss name, noise spec) -> the published std over seeds in points, where one is published.
PUBLISHED_STD: dict[tuple[str, str], float] = {(row["loss"], row["noise"]): row["std"]
                                               for row in _PUBLISHED["accuracy"] if "std" in row}
#: (canonical loss name, noise spec) -> where that number comes from.
PUBLISHED_SOURCES: dict[tuple[str, str], str] = {(row["loss"], row["noise"]): _PUBLISHED["sources"][row["source"]]
                                                 for row in _PUBLISHED["accuracy"]}


def published_accuracy(config: RunConfig) -> float | None:
    """The published last-epoch test accuracy (%) of the run ``config``'s loss and noise setting;
    None where none is published, and for every run not of PUBLISHED_DATASET at the paper's protocol
    (any precision, no other setting changed): a number is never set beside a run of another data
    set or protocol."""
    if config.dataset != PUBLISHED_DATASET or not experiments.at_protocol(config):
        return None
    return PUBLISHED.get((losses.canonical_name(config.loss), config.noise))


def published_cells(configs: Sequence[RunConfig]) -> dict[tuple[str, str], float]:
    """The published number (%) of each (noise spec, canonical loss) of ``configs`` that has one for
    every run of it (:func:`published_accuracy`), in order of first appearance."""
    numbers: dict[tuple[str, str], list[float | None]] = {}
    for config in configs:
        numbers.setdefault((config.noise, losses.canonical_name(config.loss)), []).append(published_accuracy(config))
    return {cell: values[0] for cell, values in numbers.items() if None not in values}


def published_text(loss: str, noise: str) -> str:
    """The published number of the (canonical loss name, noise spec) cell as a table shows it:
    "58.96 ± 0.70" where a std is published, else "62.28"."""
    cell = (loss, noise)
    return f"{PUBLISHED[cell]:.2f}" + (f"{PLUS_MINUS}{PUBLISHED_STD[cell]:.2f}" if cell in PUBLISHED_STD else "")


def published_note(configs: Sequence[RunConfig]) -> str:
    """"Published: SOURCE (LOSSES); SOURCE (LOSSES)." for the cells of ``configs`` with a published
    number (:func:`published_cells`), each source once with the losses it gives; "" where none has one."""
    by_source: dict[str, list[str]] = {}
    for spec, loss in published_cells(configs):
        names = by_source.setdefault(PUBLISHED_SOURCES[(loss, spec)], [])
        if losses.display_name(loss) not in names:
            names.append(losses.display_name(loss))
    return ("Published: " + "; ".join(f"{', '.join(names)}: {source}" for source, names in by_source.items()) + "."
            if by_source else "")
