"""Internal: mislabel detection: how well a trained model tells the mislabelled training images from the
correctly labelled ones, where the truth is known (the noise models keep both labels).

Two per-sample scores, each higher for an image more likely mislabelled, ranked against the truth
by scikit-learn's ROC AUC and average precision (the positive class is "mislabelled"):

- the loss under the given label, l(f(x), ỹ): a model that does not memorise a wrong label keeps
  its loss high;
- the negative margin, max_{k≠ỹ} z_k − z_ỹ (z the logits): the given class does not win.

And confident learning (Northcutt et al., 2021) through cleanlab's ``find_label_issues`` on the
softmax probabilities, scored by the precision, recall and F1 of the images it flags.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score
from torch import Tensor

#: The per-epoch detection fields of a record, and the score each ranks by.
DETECTION_FIELDS = ("mislabel_auc_loss", "mislabel_ap_loss", "mislabel_auc_margin", "mislabel_ap_margin")


def negative_margin(logits: Tensor, labels: Tensor) -> Tensor:
    """max_{k≠y} z_k − z_y per row of (N, K) ``logits`` with (N,) ``labels``: > 0 where another class wins."""
    given = logits.gather(1, labels.view(-1, 1)).squeeze(1)
    others = logits.scatter(1, labels.view(-1, 1), float("-inf"))
    return others.max(1).values - given


def ranking_scores(score: Tensor | np.ndarray, mislabelled: Tensor | np.ndarray) -> tuple[float | None, float | None]:
    """(ROC AUC, average precision) of ``score`` (higher: more likely mislabelled) against the
    boolean ``mislabelled``; (None, None) when every image is mislabelled or none is."""
    truth = np.asarray(mislabelled.cpu() if isinstance(mislabelled, Tensor) else mislabelled, dtype=bool)
    values = np.asarray(score.detach().cpu() if isinstance(score, Tensor) else score, dtype=np.float64)
    if truth.shape != values.shape or truth.ndim != 1:
        raise ValueError(f"score and mislabelled must be 1-D of one length, got {values.shape} and {truth.shape}")
    if truth.all() or not truth.any():
        return None, None
    if not np.isfinite(values).all():  # a loss at its clamp can be inf (or nan): rank it above every finite value
        values = np.nan_to_num(np.where(np.isnan(values), np.inf, values), posinf=np.finfo(np.float64).max,
                               neginf=np.finfo(np.float64).min)
    return float(roc_auc_score(truth, values)), float(average_precision_score(truth, values))


def detection_scores(per_sample_loss: Tensor, logits: Tensor, given: Tensor, mislabelled: Tensor) -> dict[str, Any]:
    """The per-epoch fields of :data:`DETECTION_FIELDS` from the per-sample loss under the
    ``given`` labels and the ``logits`` of the same images; None where undefined (no image, or
    every image, mislabelled)."""
    auc_loss, ap_loss = ranking_scores(per_sample_loss, mislabelled)
    auc_margin, ap_margin = ranking_scores(negative_margin(logits, given), mislabelled)
    return dict(zip(DETECTION_FIELDS, (auc_loss, ap_loss, auc_margin, ap_margin), strict=True))


def flagged_scores(flagged: np.ndarray, mislabelled: np.ndarray) -> dict[str, Any]:
    """Precision, recall and F1 of the boolean ``flagged`` against the boolean ``mislabelled``, with
    the counts; a ratio with a zero denominator (nothing flagged, nothing mislabelled) is None."""
    flagged, mislabelled = np.asarray(flagged, dtype=bool), np.asarray(mislabelled, dtype=bool)
    hits = int((flagged & mislabelled).sum())
    precision = hits / flagged.sum() if flagged.any() else None
    recall = hits / mislabelled.sum() if mislabelled.any() else None
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"flagged": int(flagged.sum()), "mislabelled": int(mislabelled.sum()), "scored": len(flagged),
            "precision": None if precision is None else float(precision),
            "recall": None if recall is None else float(recall), "f1": None if f1 is None else float(f1)}


def confident_learning(logits: Tensor, given: Tensor, mislabelled: Tensor) -> dict[str, Any] | None:
    """cleanlab's ``find_label_issues`` (its default filter, one process) on the softmax of
    ``logits`` with the ``given`` labels, scored against ``mislabelled`` by :func:`flagged_scores`,
    with the method and cleanlab's version. None when cleanlab is not installed (the extra
    ``anl[detection]``). The probabilities are in-sample unless the caller passes out-of-fold logits."""
    try:
        from cleanlab.filter import find_label_issues
    except ImportError:
        return None
    probabilities = torch.softmax(logits.detach().double(), 1).cpu().numpy()
    flagged = find_label_issues(labels=given.cpu().numpy(), pred_probs=probabilities, n_jobs=1)
    return {"method": "cleanlab.filter.find_label_issues", "cleanlab": importlib.metadata.version("cleanlab"),
            **flagged_scores(flagged, mislabelled.cpu().numpy())}
