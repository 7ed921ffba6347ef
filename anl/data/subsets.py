"""Stratified subsets: the indices of a class-balanced draw of a labelled set."""

from __future__ import annotations

import torch


def stratified_subset(labels: torch.Tensor, size: int, seed: int = 0) -> torch.Tensor:
    """Sorted int64 indices of ``size`` items drawn per class, deterministic in ``seed``.

    Class c with n_c of the N items gets floor(size * n_c / N) items; the size - sum of floors items
    left go one each to the classes with the largest remainders (size * n_c mod N; ties to the
    smaller label). Within a class the items are a uniform draw without replacement.
    """
    dtype = labels.dtype
    if labels.dim() != 1 or dtype.is_floating_point or dtype.is_complex or dtype == torch.bool:
        raise ValueError(f"labels must be a 1-D integer tensor, got {labels.dtype} {tuple(labels.shape)}")
    labels, total = labels.cpu(), labels.numel()
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= total:
        raise ValueError(f"size must be an integer in [0, {total}], got {size!r}")
    classes, counts = torch.unique(labels, return_counts=True)
    quotas = [size * int(count) // total for count in counts]
    remainders = [size * int(count) % total for count in counts]
    by_remainder = sorted(range(len(quotas)), key=lambda index: (-remainders[index], index))
    for index in by_remainder[: size - sum(quotas)]:
        quotas[index] += 1
    generator = torch.Generator().manual_seed(seed)
    chosen = [torch.empty(0, dtype=torch.int64)]
    for label, quota in zip(classes, quotas):
        members = torch.nonzero(labels == label).flatten()
        chosen.append(members[torch.randperm(len(members), generator=generator)[:quota]])
    return torch.sort(torch.cat(chosen)).values
