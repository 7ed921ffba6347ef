"""Mislabel detection (anl.detection): the ranking scores on planted toy sets, the flagged-set
scores as exact counts, confident learning on planted probabilities, and a real MNIST run whose
records carry the fields."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from anl import detection
from anl.results import ResultsStore
from anl.train import RunConfig, train_run


def test_a_score_that_ranks_every_mislabelled_image_first_has_auc_and_ap_one() -> None:
    mislabelled = np.array([0, 0, 1, 0, 1, 0], dtype=bool)
    score = np.array([0.1, 0.2, 0.9, 0.3, 0.8, 0.0])
    assert detection.ranking_scores(score, mislabelled) == (1.0, 1.0)
    auc, ap = detection.ranking_scores(-score, mislabelled)  # the reverse ranking
    assert auc == 0.0 and ap == pytest.approx((1 / 5 + 2 / 6) / 2)  # precision at ranks 5 and 6


def test_a_constant_score_has_auc_one_half_and_ap_the_share_mislabelled() -> None:
    mislabelled = np.array([1, 0, 0, 0], dtype=bool)
    assert detection.ranking_scores(np.zeros(4), mislabelled) == (0.5, 0.25)


def test_ranking_is_undefined_when_every_image_or_none_is_mislabelled() -> None:
    assert detection.ranking_scores(np.arange(3.0), np.zeros(3, bool)) == (None, None)
    assert detection.ranking_scores(np.arange(3.0), np.ones(3, bool)) == (None, None)
    with pytest.raises(ValueError, match="one length"):
        detection.ranking_scores(np.arange(3.0), np.ones(4, bool))


def test_an_infinite_loss_ranks_above_every_finite_one() -> None:
    mislabelled = np.array([1, 0, 0], dtype=bool)
    assert detection.ranking_scores(np.array([np.inf, 1.0, 2.0]), mislabelled) == (1.0, 1.0)


def test_negative_margin_is_the_best_other_logit_minus_the_given_one() -> None:
    logits = torch.tensor([[2.0, 1.0, 0.5], [0.0, 3.0, -1.0], [1.0, 1.0, 1.0]])
    labels = torch.tensor([0, 0, 2])
    assert detection.negative_margin(logits, labels).tolist() == [-1.0, 3.0, 0.0]


def test_flagged_scores_are_exact_counts() -> None:
    mislabelled = np.array([1, 1, 1, 0, 0, 0, 0, 0], dtype=bool)
    flagged = np.array([1, 1, 0, 1, 0, 0, 0, 0], dtype=bool)
    scores = detection.flagged_scores(flagged, mislabelled)
    assert scores == {"flagged": 3, "mislabelled": 3, "scored": 8, "precision": 2 / 3, "recall": 2 / 3,
                      "f1": pytest.approx(2 / 3)}
    nothing = detection.flagged_scores(np.zeros(8, bool), mislabelled)
    assert (nothing["precision"], nothing["recall"], nothing["f1"]) == (None, 0.0, None)
    clean = detection.flagged_scores(flagged, np.zeros(8, bool))
    assert (clean["precision"], clean["recall"], clean["f1"]) == (0.0, None, None)
    assert detection.flagged_scores(np.array([0, 1], bool), np.array([1, 0], bool))["f1"] == 0.0


def test_confident_learning_flags_exactly_the_planted_wrong_labels() -> None:
    """A model sure of the true class of every image: cleanlab flags the images whose given
    label disagrees with it, and no other."""
    rng = np.random.default_rng(0)
    true = np.arange(400) % 4
    given = true.copy()
    wrong = rng.choice(400, 40, replace=False)
    given[wrong] = (true[wrong] + 1 + rng.integers(0, 3, 40)) % 4
    logits = torch.full((400, 4), -4.0)
    logits[torch.arange(400), torch.from_numpy(true)] = 4.0
    mislabelled = torch.from_numpy(given != true)
    scores = detection.confident_learning(logits, torch.from_numpy(given), mislabelled)
    assert scores["method"] == "cleanlab.filter.find_label_issues" and scores["cleanlab"]
    assert (scores["flagged"], scores["mislabelled"], scores["scored"]) == (40, 40, 400)
    assert scores["precision"] == scores["recall"] == scores["f1"] == 1.0


@pytest.mark.slow
def test_a_noisy_run_records_detection_scores_that_beat_chance(real_dataset, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("ANL_CHECKPOINTS", raising=False)
    config = RunConfig("mnist", "ce", noise="sym:0.4", seed=1, epochs=2, train_subset=2000, train_eval_size=1000)
    record = train_run(config, ResultsStore(tmp_path), dataset=real_dataset("mnist"), device="cpu", progress=False)
    for epoch in record["epochs"]:
        assert all(0.0 <= epoch[field] <= 1.0 for field in detection.DETECTION_FIELDS)
    last = record["epochs"][-1]
    assert last["mislabel_auc_loss"] > 0.6 and last["mislabel_auc_margin"] > 0.6  # two epochs: not memorised yet
    confident = record["summary"]["confident_learning"]
    assert confident["scored"] == 1000 and 300 <= confident["mislabelled"] <= 500
    assert confident["precision"] > 0.5 and confident["recall"] > 0.5
    clean = train_run(RunConfig("mnist", "ce", seed=1, epochs=1, train_subset=500, train_eval_size=200),
                      ResultsStore(tmp_path), dataset=real_dataset("mnist"), device="cpu", progress=False)
    assert all(clean["epochs"][0][field] is None for field in detection.DETECTION_FIELDS)
    assert clean["summary"]["confident_learning"]["recall"] is None
