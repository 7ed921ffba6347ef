"""The published numbers the book sets beside its own, read from ``published.json`` (shipped with
the package): test accuracies (%) per loss and noise setting, with their source and the label the
tables give them. Only one data set has published numbers available here."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from anl import losses


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


def published_accuracy(dataset: str, loss: str, noise_spec: str) -> float | None:
    """The published last-epoch test accuracy (%) of ``loss`` (any spelling of its name) at
    ``noise_spec`` on ``dataset``; None where none is available (every data set but
    PUBLISHED_DATASET: a number of another data set is never set beside ours)."""
    if dataset != PUBLISHED_DATASET:
        return None
    return PUBLISHED.get((losses.canonical_name(loss), noise_spec))
