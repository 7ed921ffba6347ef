"""Internal: mislabel detection: how well a trained model tells the mislabelled training images from the
correctly labelled ones, where the truth is known (the noise models keep both labels).

Two per-sample scores, each higher for an image more likely mislabelled, ranked against the truth
by scikit-learn's ROC AUC and average precision (the positive class is "mislabelled"):

- the loss under the given label, l(f(x), ỹ): a model that does not memorise a wrong label keeps
  its loss high;
- the negative margin, max_{k≠ỹ} z_k − z_ỹ (z the logits): the given class does not win.

And confident learning (Northcutt et al., 2021) through cleanlab's ``find_label_issues`` on the
softmax probabilities, scored by the precision, recall and F1 of the images it flags: on a run's
in-sample probabilities, or on out-of-sample ones, which cleanlab recommends: the scored sample is
split into k stratified folds (:func:`stratified_folds`), the run of fold f trains on every training
image but fold f's and records fold f's probabilities (:func:`encode_probabilities`), and
:func:`out_of_sample_confident_learning` joins the k records.
"""

from __future__ import annotations

import base64
import importlib.metadata
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score
from torch import Tensor

#: How a record stores held-out probabilities: little-endian float16 (about three significant
#: digits, ample for cleanlab's per-class thresholds), row-major, base64.
PROBABILITY_DTYPE = np.dtype("<f2")

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
    probabilities = torch.softmax(logits.detach().double(), 1).cpu().numpy()
    return _cleanlab_scores(probabilities, given.cpu().numpy(), mislabelled.cpu().numpy())


def _cleanlab_scores(probabilities: np.ndarray, given: np.ndarray, mislabelled: np.ndarray) -> dict[str, Any] | None:
    try:
        from cleanlab.filter import find_label_issues
    except ImportError:
        return None
    flagged = find_label_issues(labels=given, pred_probs=probabilities, n_jobs=1)
    return {"method": "cleanlab.filter.find_label_issues", "cleanlab": importlib.metadata.version("cleanlab"),
            **flagged_scores(flagged, mislabelled)}


def stratified_folds(labels: np.ndarray | Sequence[int], folds: int, seed: int) -> np.ndarray:
    """The fold (0 .. folds − 1) of each item of ``labels``: the items of each class, in an order
    drawn by ``np.random.default_rng(seed)``, are dealt to the folds in turn, the dealing carried on
    from one class to the next. So the folds partition the items, a class's count differs by at most
    one between folds, and so do the folds' sizes. ValueError unless 2 <= folds <= len(labels)."""
    labels = np.asarray(labels)
    if not 2 <= folds <= len(labels):
        raise ValueError(f"folds={folds!r} for {len(labels)} items: choose 2 <= folds <= {len(labels)}")
    order = np.random.default_rng(seed).permutation(len(labels))
    order = order[np.argsort(labels[order], kind="stable")]  # class by class, each in the drawn order
    fold = np.empty(len(labels), dtype=np.int64)
    fold[order] = np.arange(len(labels)) % folds
    return fold


def encode_probabilities(probabilities: np.ndarray) -> str:
    """The (N, K) ``probabilities`` as text: :data:`PROBABILITY_DTYPE` bytes, row-major, base64."""
    return base64.b64encode(np.ascontiguousarray(probabilities, dtype=PROBABILITY_DTYPE).tobytes()).decode("ascii")


def decode_probabilities(text: str, classes: int) -> np.ndarray:
    """The (N, ``classes``) float64 probabilities of :func:`encode_probabilities`' ``text``, each row
    rescaled to sum to 1 (float16 rounding leaves a row's sum up to about 1e-3 off); ValueError when
    the text does not hold a whole number of rows."""
    values = np.frombuffer(base64.b64decode(text, validate=True), dtype=PROBABILITY_DTYPE)
    if classes < 1 or len(values) % classes:
        raise ValueError(f"{len(values)} probabilities do not make rows of {classes} classes")
    rows = values.astype(np.float64).reshape(-1, classes)
    return rows / rows.sum(1, keepdims=True)


def out_of_sample_confident_learning(records: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Confident learning on out-of-sample probabilities: the ``held_out`` fields of the k records of
    one k-fold setting (configs alike but for ``holdout_fold``, folds 0 .. k − 1 each once) joined
    into the probabilities of every image of the scored sample, each from the model that did not
    train on it; then cleanlab's ``find_label_issues`` on them, scored against the truth as
    :func:`confident_learning` scores in-sample probabilities, with ``"folds": k``. ValueError
    when the records are not one setting's k folds or their held-out images do not partition the
    sample; None when cleanlab is not installed."""
    configs = [record["config"] for record in records]
    if not configs or any(config.get("holdout_folds") is None for config in configs):
        raise ValueError("out-of-sample probabilities need the records of a k-fold setting (config.holdout_folds), "
                         f"got {len(configs)} record(s) without it")
    folds = configs[0]["holdout_folds"]
    setting = [{name: value for name, value in config.items() if name != "holdout_fold"} for config in configs]
    if any(other != setting[0] for other in setting[1:]):
        raise ValueError("the records are not of one k-fold setting: their configs differ beyond holdout_fold")
    if sorted(config["holdout_fold"] for config in configs) != list(range(folds)):
        raise ValueError(f"a {folds}-fold setting needs folds 0..{folds - 1} each once, "
                         f"got {sorted(config['holdout_fold'] for config in configs)}")
    parts = [record["held_out"] for record in records]
    size = parts[0]["sample_size"]
    index = np.concatenate([part["indices"] for part in parts]).astype(np.int64)
    if any(part["sample_size"] != size for part in parts) or not np.array_equal(np.sort(index), np.arange(size)):
        raise ValueError(f"the held-out folds do not partition the {size} images of the scored sample")
    classes = len(records[0]["noise"]["transition"])
    probabilities = np.empty((size, classes))
    given, true = np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64)
    for fold, part in zip(configs, parts, strict=True):
        rows = decode_probabilities(part["probabilities"], classes)
        if not len(rows) == len(part["given"]) == len(part["true"]) == len(part["indices"]):
            raise ValueError(f"fold {fold['holdout_fold']}: {len(part['indices'])} held-out images but "
                             f"{len(rows)} rows of probabilities, {len(part['given'])} given and "
                             f"{len(part['true'])} true labels")
        probabilities[part["indices"]] = rows
        given[part["indices"]], true[part["indices"]] = part["given"], part["true"]
    scores = _cleanlab_scores(probabilities, given, given != true)
    return None if scores is None else {**scores, "folds": folds}
