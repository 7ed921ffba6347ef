"""Internal: the paper's experiments against this project's runs, in two separate judgements computed from
the records in the store, never typed:

- **coverage**: which runs of each experiment are recorded, group by group, each group being a
  section of runs of the book page the experiment links to (a named grid, a part of one), with its
  protocol, noise settings and seeds, and "R of N runs", the count that page states
  (:func:`anl.report.runs.run_status` counts the same runs);
- **agreement**: where published numbers exist, ours (mean over the recorded seeds) against each
  within :data:`TOLERANCE`; else the verdict of the experiment's claim at the paper's protocol
  with at least :data:`MIN_SEEDS` seeds (:mod:`anl.report.verdicts`); else "not assessed".

"reproduced" is said only when agreement holds: every published number of the experiment recorded
and within the tolerance, or the claim holding at every noise setting it is tested at.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from anl import losses
from anl.experiments import BENCHMARK_LOSSES, ExperimentConfig, ablation_sections, at_protocol, grid
from anl.pages import BOOK
from anl.report.labels import format_number, mask_noise_label, noise_label
from anl.report.published import PUBLISHED, published_accuracy, published_text
from anl.report.runs import load_runs
from anl.report.stats import claim_check, run_dynamics
from anl.report.verdicts import measure
from anl.results import ResultsStore
from anl.train import RunConfig

#: Ours within this many points of a published accuracy counts as agreement.
TOLERANCE = 2.0
#: The fewest seeds a claim's verdict needs to stand for agreement.
MIN_SEEDS = 3
#: The fraction of the best loss's last-epoch accuracy that sets the convergence bar.
CONVERGENCE_FRACTION = 0.95


@dataclass(frozen=True)
class RunGroup:
    """A group of runs, as the linked page reads them: the grid ``grid``, or its ablation
    ``section`` (:func:`anl.experiments.ablation_sections`), only the runs of ``loss_names`` if given."""

    grid: str
    section: str = ""
    loss_names: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.grid}, {self.section} section" if self.section else self.grid

    def configs(self) -> list[ExperimentConfig]:
        if self.section:
            entries = [config for _, config in ablation_sections()[self.section]]
        else:
            entries = grid(self.grid)
        unique = {config.key: config for config in entries if not self.loss_names or config.loss in self.loss_names}
        return list(unique.values())


@dataclass(frozen=True)
class Claim:
    """The claim an experiment without published numbers is judged on: every loss of ``candidates``
    beats every loss of ``baselines`` on ``metric`` (a summary field, or ``reached_bar``, the epochs to
    the convergence bar of :func:`anl.report.stats.run_dynamics`) at each of ``noises``, judged in the
    measure ``measure`` of :data:`anl.report.verdicts.MEASURES`."""

    metric: str
    measure: str
    candidates: tuple[str, ...]
    baselines: tuple[str, ...]
    noises: tuple[str, ...]
    higher_is_better: bool = True


@dataclass(frozen=True)
class Experiment:
    """One experiment of the paper: the run ``groups`` of the book ``page`` that shows it (a page
    of :data:`anl.pages.BOOK`, each group one of its sections), ``claim`` for agreement where no
    published number exists, or ``reason`` why it is not reproduced, ``numerical`` for an analysis
    without training."""

    name: str
    page: str | None = None
    groups: tuple[RunGroup, ...] = ()
    claim: Claim | None = None
    reason: str = ""
    numerical: bool = False

    def __post_init__(self) -> None:
        if self.page is not None and self.page not in BOOK:
            raise ValueError(f"experiment {self.name!r}: no book page {self.page!r}; the pages: {', '.join(BOOK)}")


ANL = ("anl_ce", "anl_fl")
EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("Symmetric and asymmetric noise, CIFAR-10 (8-layer CNN)", "cifar10",
               (RunGroup("cifar10-paper"), RunGroup("cifar10-table"), RunGroup("cifar10-short"))),
    Experiment("Symmetric and asymmetric noise, MNIST (4-layer CNN)", "benchmark",
               (RunGroup("mnist-full"), RunGroup("mnist-reduced", loss_names=BENCHMARK_LOSSES)),
               claim=Claim("final_test_acc", "accuracy", ANL, ("ce", "gce", "nce_mae", "nce_rce", "nce_agce"),
                           ("sym:0.8", "asym:0.4"))),
    Experiment("Symmetric and asymmetric noise, CIFAR-100 (ResNet-34)",
               reason="compute: ResNet-34 for 200 epochs per run is out of reach of this project's CPUs and of "
                      "the 15 minutes of GPU time a session may be lent"),
    Experiment("Instance-dependent noise, CIFAR-10: the published fixed labels (idn-file) and the generator on raw "
               "pixels (idn)", "cifar10", (RunGroup("cifar10-idn"),)),
    Experiment("Real human noise, CIFAR-10N", "cifar10", (RunGroup("cifar10n"),)),
    Experiment("WebVision (mini) evaluated on WebVision and ILSVRC12",
               reason="data: not obtainable here (no download; tens of GB)"),
    Experiment("Clothing1M and Animal-10N", reason="data: not obtainable here (licensed, no download)"),
    Experiment("Entropy regulariser on non-symmetric noise", "ablations",
               (RunGroup("mnist-ablations", "lambda"),)),
    Experiment("Gradient analysis of NNLFs against MAE", "losses", numerical=True),
    Experiment("Convergence of APL with MAE against ANL", "dynamics-paper-protocol", (RunGroup("mnist-full"),),
               claim=Claim("reached_bar", "epochs", ANL, ("nce_mae",), ("sym:0.8", "asym:0.4"),
                           higher_is_better=False)),
    Experiment("L1 against L2 regularisation", "ablations", (RunGroup("mnist-ablations", "regulariser"),)),
    Experiment("Parameter sensitivity (alpha, beta, delta)", "ablations",
               (RunGroup("mnist-ablations", "alpha_beta"), RunGroup("mnist-ablations", "delta"))),
    Experiment("Image segmentation with noisy masks, ISIC 2017", "segmentation",
               (RunGroup("isic-reduced"), RunGroup("isic-half"))),
)


def protocol_of(config: ExperimentConfig) -> str:
    """"paper protocol" for a classification run at the paper's protocol, else what differs
    ("reduced: 10,000 images, 30 epochs", "40 epochs", a segmentation run's "64x48 px, 20 epochs")."""
    if isinstance(config, RunConfig):
        if at_protocol(config):
            return "paper protocol"
        resolved = config.resolved()
        if config.train_subset:
            return f"reduced: {config.train_subset:,} images, {resolved['epochs']} epochs"
        return f"{resolved['epochs']} epochs"
    resolved = config.resolved()
    width, height = resolved["size"]
    return f"own protocol, {width}x{height} px, {resolved['epochs']} epochs"


def _seeds(seeds: Sequence[int]) -> str:
    ordered = sorted(set(seeds))
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"seeds {ordered[0]}–{ordered[-1]}"
    return ("seed " if len(ordered) == 1 else "seeds ") + ", ".join(map(str, ordered))


def group_coverage(group: RunGroup, store: ResultsStore) -> str:
    """"NAME (protocol): R of N runs recorded; per noise setting, the seeds recorded": the count
    the linked page states for the same runs."""
    configs = group.configs()
    recorded = [config for config in configs if store.has(config.key)]
    protocols = ", ".join(dict.fromkeys(protocol_of(config) for config in configs))
    by_noise: dict[str, list[int]] = {}
    for config in recorded:
        by_noise.setdefault(config.noise, []).append(config.seed)
    name = noise_label if all(isinstance(config, RunConfig) for config in configs) else mask_noise_label
    settings = "; ".join(f"{name(noise)} {_seeds(seeds)}" for noise, seeds in by_noise.items())
    return (f"{group.name} ({protocols}): {len(recorded)} of {len(configs)} runs recorded"
            + (f" ({settings})" if settings else ""))


def coverage(experiment: Experiment, store: ResultsStore) -> str:
    """The experiment's coverage (see the module docstring)."""
    if experiment.numerical:
        return "numerical analysis, no training"
    if experiment.reason:
        return f"none: {experiment.reason}"
    return "; ".join(group_coverage(group, store) for group in experiment.groups)


def _published_agreement(experiment: Experiment, store: ResultsStore) -> str | None:
    """Agreement with the published numbers of the experiment's runs; None when it has none."""
    cells: dict[tuple[str, str], list[float]] = {}
    for group in experiment.groups:
        for config in group.configs():
            if isinstance(config, RunConfig) and published_accuracy(config) is not None:
                ours = cells.setdefault((losses.canonical_name(config.loss), config.noise), [])
                if store.has(config.key):
                    ours.append(100 * store.read(config.key)["summary"]["final_test_acc"])
    if not cells:
        return None
    gaps = {cell: float(np.mean(ours)) - PUBLISHED[cell] for cell, ours in cells.items() if ours}
    if not gaps:
        return f"not assessed: no run recorded yet for the {len(cells)} published number(s)"
    beyond = {cell: gap for cell, gap in gaps.items() if abs(gap) > TOLERANCE}
    worst = max(gaps, key=lambda cell: abs(gaps[cell]))
    largest = (f"largest gap {format_number(gaps[worst], 2, signed=True)} points, "
               f"{losses.display_name(worst[0])} {noise_label(worst[1])}")
    counted = f"{len(gaps)} of the {len(cells)} published numbers have runs"
    if beyond:
        return f"differs: {counted}, {len(beyond)} of them beyond {TOLERANCE:g} points ({largest})"
    if len(gaps) < len(cells):
        return f"agrees so far, not yet reproduced: {counted}, all within {TOLERANCE:g} points ({largest})"
    return f"reproduced: all {len(cells)} published numbers within {TOLERANCE:g} points ({largest})"


def _claim_agreement(claim: Claim, experiment: Experiment, store: ResultsStore) -> str:
    """The claim's verdict at each of its noise settings on the experiment's paper-protocol runs."""
    configs = [config for group in experiment.groups for config in group.configs()
               if isinstance(config, RunConfig) and at_protocol(config) and store.has(config.key)]
    if not configs:
        return "not assessed: no paper-protocol run recorded"
    runs = load_runs(configs, store.root, train=False)
    judged_on = measure(claim.measure)
    verdicts = []
    for noise in claim.noises:
        if claim.metric == "reached_bar":
            rows = run_dynamics(runs.epochs[runs.epochs["noise"] == noise], CONVERGENCE_FRACTION)
        else:
            rows = runs.summaries[runs.summaries["noise"] == noise]
        try:
            check = claim_check(rows, "loss", claim.metric, claim.candidates, claim.baselines, claim.higher_is_better)
        except ValueError:  # a loss of the claim without runs at this setting
            return f"not assessed: not every loss of the claim ran at {noise_label(noise)}"
        verdicts.append((noise, check.verdict(judged_on)))
    if min(judged.seeds for _, judged in verdicts) < MIN_SEEDS:
        return f"not assessed: the claim needs {MIN_SEEDS} seeds at the paper protocol"
    stated = "; ".join(f"{noise_label(noise)} {judged.label}" for noise, judged in verdicts)
    if all(judged.label == "holds" for _, judged in verdicts):
        return f"reproduced: the claim holds at the paper protocol ({stated})"
    return f"not reproduced: the claim at the paper protocol, {MIN_SEEDS}+ seeds: {stated}"


def agreement(experiment: Experiment, store: ResultsStore) -> str:
    """The experiment's agreement (see the module docstring)."""
    published = _published_agreement(experiment, store)
    if published is not None:
        return published
    if experiment.claim is not None:
        return _claim_agreement(experiment.claim, experiment, store)
    if experiment.reason:
        return "not assessed: not run"
    if experiment.numerical:
        return "not assessed: an analysis without runs, shown on its page"
    return "not assessed: no published number, and the runs are not at the paper protocol"


def scorecard(store: ResultsStore, page_link: Callable[[str], str] = str) -> pd.DataFrame:
    """One row per experiment of EXPERIMENTS: coverage, agreement and the book page that shows it
    (``page_link(page)``, "–" for none)."""
    rows = [{"experiment": experiment.name, "coverage": coverage(experiment, store),
             "agreement": agreement(experiment, store),
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
        rows.append({"loss": losses.display_name(loss), "noise": noise_label(noise), "published": published_text(loss, noise),
                     "ours": "–" if not ours else f"{mean:.2f}", "seeds": len(ours),
                     "ours − published": "–" if not ours else format_number(mean - published, 2, signed=True)})
    return pd.DataFrame(rows).set_index("loss")
