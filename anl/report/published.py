"""Internal: the published numbers the book sets beside its own, read from ``published.json`` (shipped with
the package): test accuracies (%) per loss and noise setting, with their source and the label the
tables give them. Only one data set has published numbers available here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

from anl import experiments, losses
from anl.train import RunConfig


def _read() -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath("published.json").read_text(encoding="utf-8"))


_PUBLISHED = _read()
#: The column label of the published numbers in a table.
PUBLISHED_LABEL: str = _PUBLISHED["label"]
#: Where the published numbers come from, as a page states it.
PUBLISHED_SOURCE: str = _PUBLISHED["source"]
#: The data set the published numbers are of.
PUBLISHED_DATASET: str = _PUBLISHED["dataset"]
#: (canonical loss name, noise spec) -> published test accuracy in %.
PUBLISHED: dict[tuple[str, str], float] = {(row["loss"], row["noise"]): row["accuracy"]
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
