"""Internal: The paper's experiments against this project's runs: for each, the named grids that reproduce
it, at which protocol, and why where none can; its status is computed from the records in the
store (how many of the grids' runs are recorded), never typed.

Status: "reproduced (paper protocol)" when every run of its paper-protocol grids is recorded;
"partial" when some runs are recorded but the paper-protocol grids are incomplete, or the grids
use a protocol of this project (reduced, or its own); "planned" when grids exist but no run is
recorded; "not reproduced" with the reason (the data cannot be obtained here, or the compute
exceeds this project's) when no grid can exist; "reproduced (numerical)" for analyses that need
no training.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from anl import losses
from anl.experiments import grid
from anl.report.labels import noise_label
from anl.report.published import PUBLISHED, published_accuracy
from anl.results import ResultsStore
from anl.train import RunConfig


@dataclass(frozen=True)
class Experiment:
    """One experiment of the paper. ``paper_grids`` run its protocol, ``other_grids`` a protocol of
    this project (named in ``protocol``), counting only ``only_losses``' runs if given; ``reason``
    says why it is not reproduced, ``numerical`` marks an analysis without
    training; ``page`` is the book page showing it."""

    name: str
    page: str | None = None
    paper_grids: tuple[str, ...] = ()
    other_grids: tuple[str, ...] = ()
    protocol: str = ""
    reason: str = ""
    numerical: bool = False
    only_losses: tuple[str, ...] = ()  # count only these losses' runs of the grids (none: all)


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("Symmetric and asymmetric noise, CIFAR-10 (8-layer CNN)", "cifar10",
               paper_grids=("cifar10-paper", "cifar10-table"), other_grids=("cifar10-short",), protocol="40 epochs"),
    Experiment("Symmetric and asymmetric noise, MNIST (4-layer CNN)", "benchmark", paper_grids=("mnist-full",),
               other_grids=("mnist-reduced",), protocol="reduced: 10,000 images, 30 epochs"),
    Experiment("Symmetric and asymmetric noise, CIFAR-100 (ResNet-34)",
               reason="compute: ResNet-34 for 200 epochs per run is out of reach of this project's CPUs and of "
                      "the 15 minutes of GPU time a session may be lent"),
    Experiment("Instance-dependent noise, CIFAR-10", "cifar10", paper_grids=("cifar10-idn",)),
    Experiment("Real human noise, CIFAR-10N", "cifar10", paper_grids=("cifar10n",)),
    Experiment("WebVision (mini) evaluated on WebVision and ILSVRC12",
               reason="data: not obtainable here (no download; tens of GB)"),
    Experiment("Clothing1M and Animal-10N", reason="data: not obtainable here (licensed, no download)"),
    Experiment("Entropy regulariser on non-symmetric noise", "ablations",
               other_grids=("mnist-reduced", "fashion-mnist-reduced", "mnist-ablations"), only_losses=("anl_ce_er",),
               protocol="(Fashion-)MNIST reduced, CIFAR-10's lambda (no MNIST preset is published)"),
    Experiment("Gradient analysis of NNLFs against MAE", "losses", numerical=True),
    Experiment("Convergence of APL with MAE against ANL", "dynamics-paper-protocol", paper_grids=("mnist-full",)),
    Experiment("L1 against L2 regularisation", "ablations", other_grids=("mnist-ablations",),
               protocol="MNIST reduced, one seed"),
    Experiment("Parameter sensitivity (alpha, beta, delta)", "ablations", other_grids=("mnist-ablations",),
               protocol="MNIST reduced, one seed"),
    Experiment("Image segmentation with noisy masks, ISIC 2017", "segmentation", other_grids=("isic-reduced", "isic-half"),
               protocol="own protocol (the paper's could not be obtained), 64x48 and 128x96 px; isic-full "
                        "(256x192) needs a GPU"),
)


def coverage(names: Sequence[str], store: ResultsStore, only_losses: Sequence[str] = ()) -> tuple[int, int]:
    """(recorded, total) runs of the named grids (of ``only_losses`` if given), each counted once."""
    keys = {config.key for name in names for config in grid(name)
            if not only_losses or config.loss in only_losses}
    return sum(store.has(key) for key in keys), len(keys)


def status(experiment: Experiment, store: ResultsStore) -> str:
    """The experiment's status from the records in ``store`` (see the module docstring)."""
    if experiment.numerical:
        return "reproduced (numerical, no training)"
    if experiment.reason:
        return f"not reproduced: {experiment.reason}"
    paper_done, paper_total = coverage(experiment.paper_grids, store, experiment.only_losses)
    other_done, other_total = coverage(experiment.other_grids, store, experiment.only_losses)
    if paper_total and paper_done == paper_total:
        return f"reproduced: paper protocol, {paper_done} runs"
    parts = []
    if paper_total:
        parts.append(f"paper protocol, {paper_done} of {paper_total} runs")
    if other_total:
        parts.append(f"{experiment.protocol}, {other_done} of {other_total} runs")
    if paper_done + other_done == 0:
        return "planned: " + "; ".join(parts)
    return "partial: " + "; ".join(parts)


def scorecard(store: ResultsStore, page_link: Callable[[str], str] = str) -> pd.DataFrame:
    """One row per experiment of EXPERIMENTS: its status and the book page that shows it
    (``page_link(page)``, "–" for none)."""
    rows = [{"experiment": experiment.name, "status": status(experiment, store),
             "page": page_link(experiment.page) if experiment.page else "–"} for experiment in EXPERIMENTS]
    return pd.DataFrame(rows).set_index("experiment")


def published_beside_ours(store: ResultsStore, grid_names: Sequence[str]) -> pd.DataFrame:
    """One row per published number (anl.report.published.PUBLISHED): the loss and noise, the published
    last-epoch test accuracy (%), ours from the recorded runs of ``grid_names`` that have it beside
    them (anl.report.published.published_accuracy: the same loss and noise, the published data set
    and protocol; mean over seeds, "–" when none is recorded yet), the seeds, and ours minus published."""
    recorded: dict[tuple[str, str], list[float]] = {}
    for name in grid_names:
        for config in grid(name):
            if isinstance(config, RunConfig) and published_accuracy(config) is not None and store.has(config.key):
                record = store.read(config.key)
                recorded.setdefault((record["config"]["loss"], record["config"]["noise"]), []).append(
                    100 * record["summary"]["final_test_acc"])
    rows = []
    for (loss, noise), published in PUBLISHED.items():
        ours = recorded.get((loss, noise), [])
        mean = float(np.mean(ours)) if ours else np.nan
        rows.append({"loss": losses.display_name(loss), "noise": noise_label(noise), "published": f"{published:.2f}",
                     "ours": "–" if not ours else f"{mean:.2f}", "seeds": len(ours),
                     "ours − published": "–" if not ours else f"{mean - published:+.2f}"})
    return pd.DataFrame(rows).set_index("loss")
