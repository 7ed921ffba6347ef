"""Internal: where a page's numbers come from, in words: protocol sentences drawn from run records, and the
sentence naming the data files a page's labels are read from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from anl import losses
from anl.engine import DEFAULT_PRECISION, run_precision
from anl.report.labels import AUGMENTATION_NAMES, dataset_label, mask_noise_label, noise_label


def _values(items: Iterable[Any], sort: bool = True) -> str:
    """Distinct values joined by ", ": sorted, or in order of first appearance."""
    distinct = list(dict.fromkeys(items))
    if sort:
        distinct.sort(key=lambda item: (str(type(item)), item))
    return ", ".join(f"{item:g}" if isinstance(item, float) else str(item) for item in distinct)


def _weight_decays(configs: Sequence[Mapping[str, Any]]) -> str:
    """L2 weight decay per loss family: "0.001 (baselines), 0 (ANL family)"."""
    families = {"baselines": [c["weight_decay"] for c in configs if not losses.is_anl_family(c["loss"])],
                "ANL family": [c["weight_decay"] for c in configs if losses.is_anl_family(c["loss"])]}
    return ", ".join(f"{_values(decays)} ({family})" for family, decays in families.items() if decays)


def _provenance_clause(provenance: Sequence[Mapping[str, Any]]) -> str:
    """"trained on cpu (1 thread), code 0123abc, 1.50 h of training in total." from the records'
    provenance: devices (threads on CPU), commits (marked when anl/ had local changes; every
    commit of a run resumed across code versions, and how many such runs), wall time."""
    devices = _values(f"{p['device_name']} ({p['threads']} thread{'s' * (p['threads'] != 1)})"
                      if p["device"] == "cpu" else p["device_name"] for p in provenance)
    shas = _values(span["git_sha"][:7] + ("+local changes" if span.get("git_dirty") else "")
                   for p in provenance for span in p.get("code_versions") or [p])
    resumed = sum(bool(p.get("code_versions")) for p in provenance)
    across = f" ({resumed} run{'s' * (resumed != 1)} resumed across code versions)" if resumed else ""
    hours = sum(p["wall_time_s"] for p in provenance) / 3600
    return f"trained on {devices}, code {shas}{across}, {hours:.2f} h of training in total."


def protocol_label(epochs: int | None, train_subset: int | None) -> str:
    """A short name for a run protocol: "paper" (all training images, the data set's epochs), else
    "reduced: <images>, <epochs> epochs"."""
    if epochs is None and train_subset is None:
        return "paper"
    images = "all images" if train_subset is None else f"{train_subset:,} images"
    return f"reduced: {images}, {'paper' if epochs is None else epochs} epochs"


def protocol_caption(epochs: int | None, train_subset: int | None) -> str:
    """The protocol as a figure's title says it: "paper protocol", or "reduced protocol: 10,000
    images, 30 epochs" (:func:`protocol_label`)."""
    label = protocol_label(epochs, train_subset)
    return "paper protocol" if label == "paper" else label.replace("reduced:", "reduced protocol:", 1)


def finding_prefix(seed_count: int, epochs: int | None, train_subset: int | None) -> str:
    """How a page introduces a finding drawn from ``seed_count`` seeds of a protocol: "**Finding:**"
    from two or more seeds at the paper's protocol, else "**Finding (indicative: one seed, reduced
    protocol):**", naming what keeps it from carrying a conclusion."""
    limits = [*(["one seed"] if seed_count < 2 else []),
              *(["reduced protocol"] if protocol_label(epochs, train_subset) != "paper" else [])]
    return f"**Finding (indicative: {', '.join(limits)}):**" if limits else "**Finding:**"


def _run_records(records: Sequence[Any]) -> str:
    return "1 run record" if len(records) == 1 else f"the {len(records)} run records"


def protocol_sentence(records: Sequence[Mapping[str, Any]]) -> str:
    """One Markdown paragraph stating where a page's numbers come from, drawn from the run records:
    data set (and whether it is the JPEG copy), model, training-set size, test-set size, epochs,
    batch, optimiser, weight decay, seeds, noise settings, the model's precision where not fp32, device,
    threads, code version and wall time."""
    if not records:
        raise ValueError("protocol_sentence needs at least one run record, got none")
    configs = [record["config"] for record in records]
    provenance = [record["provenance"] for record in records]
    datasets = _values(dataset_label(c["dataset"], p.get("data_source", "")) for c, p in zip(configs, provenance))
    train_sizes = _values(f"{record['noise']['train_size']:,}" for record in records)
    subsets = [bool(c["train_subset"]) for c in configs]
    subset = ("stratified training subset of " if all(subsets) else "full training set, " if not any(subsets)
              else "full training set or a stratified subset of it, ")
    test_sizes = _values(f"{int(np.sum(r['summary']['test_confusion'])):,}" for r in records)
    return (
        f"**Protocol, read from {_run_records(records)}:** {datasets}; model {_values(c['model'] for c in configs)}; "
        f"{subset}{train_sizes} images; {test_sizes} test images; {_values(c['epochs'] for c in configs)} epochs, "
        f"batch {_values(c['batch_size'] for c in configs)}, SGD (momentum 0.9) lr {_values(c['lr'] for c in configs)} "
        f"with cosine schedule, gradient clip {_values(c['grad_clip'] for c in configs)}, augmentation "
        f"{_values(AUGMENTATION_NAMES[c['augment']] for c in configs)}, L2 weight decay {_weight_decays(configs)}; "
        f"seeds {_values(c['seed'] for c in configs)}; "
        f"noise {_values((noise_label(c['noise']) for c in configs), sort=False)}; {_precision_clause(configs)}"
        f"{_provenance_clause(provenance)}"
    )


def _precision_clause(configs: Sequence[Mapping[str, Any]]) -> str:
    """"model in bf16 autocast (the loss in float32); " where any run names a precision other than
    fp32 (a record names its precision only then; "bf16 autocast or fp32" for a mix), else nothing."""
    precisions = list(dict.fromkeys(run_precision(c) for c in configs))
    if precisions == [DEFAULT_PRECISION]:
        return ""
    named = " or ".join(p if p == DEFAULT_PRECISION else f"{p} autocast" for p in precisions)
    return f"model in {named} (the loss in float32); "


def segmentation_protocol_sentence(records: Sequence[Mapping[str, Any]]) -> str:
    """The protocol paragraph of segmentation runs (anl.segmentation), from their records: training
    size, U-Net width and depth, training images, epochs, batch, optimiser, weight decay per
    family, seeds, mask noise, device, code version and wall time."""
    if not records:
        raise ValueError("segmentation_protocol_sentence needs at least one run record, got none")
    configs = [record["config"] for record in records]
    provenance = [record["provenance"] for record in records]
    sizes = _values(f"{c['size'][0]}x{c['size'][1]}" for c in configs)
    train_sizes = _values(f"{record['noise']['train_size']:,}" for record in records)
    return (
        f"**Protocol, read from {_run_records(records)}:** ISIC 2017 Part 1 (official splits), "
        f"{train_sizes} training images at {sizes} "
        f"(evaluated at 256x192 against the clean masks); U-Net of base width {_values(c['base_width'] for c in configs)} "
        f"and {_values(c['levels'] for c in configs)} levels; {_values(c['epochs'] for c in configs)} epochs, batch "
        f"{_values(c['batch_size'] for c in configs)}, Adam lr {_values(c['lr'] for c in configs)} with cosine schedule, "
        f"gradient clip {_values(c['grad_clip'] for c in configs)}, random flips, L2 weight decay "
        f"{_weight_decays(configs)}; loss presets of {_values(c['loss_preset'] for c in configs)}; "
        f"seeds {_values(c['seed'] for c in configs)}; "
        f"mask noise {_values((mask_noise_label(c['noise']) for c in configs), sort=False)}; "
        f"{_provenance_clause(provenance)}"
    )


def data_protocol(datasets: Iterable[Any], seed: int) -> str:
    """One Markdown sentence naming the data sets a page's labels come from (name, training-set
    size, file format read, from each ImageDataset's ``source``) and the noise seed."""
    parts = [f"{dataset_label(dataset.name, dataset.source)} training labels ({len(dataset.train_labels):,} images, "
             f"read as {dataset.source.rsplit(' (', 1)[-1].rstrip(')')})" for dataset in datasets]
    if not parts:
        raise ValueError("data_protocol needs at least one data set, got none")
    return f"**Data, read from the files:** {'; '.join(parts)}; noise seed {seed}."
