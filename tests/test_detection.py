"""Mislabel detection (anl.detection): the ranking scores on planted toy sets, the flagged-set
scores as exact counts, confident learning on planted probabilities, and a real MNIST run whose
records carry the fields; the k folds of the scored sample, their runs' held-out probabilities and
their join into out-of-sample confident learning."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from anl import detection
from anl.data import MNIST_CLASSES, ImageDataset
from anl.results import ResultsStore
from anl.train import HOLDOUT_SEED, RunConfig, prepare_data, train_run


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


# --- out-of-sample probabilities: k folds of the scored sample --------------------------------------

def test_stratified_folds_partition_the_items_evenly_within_each_class_and_follow_the_seed() -> None:
    labels = np.repeat([0, 1, 2], [10, 7, 3])
    folds = detection.stratified_folds(labels, 4, seed=5)
    assert sorted(np.bincount(folds)) == [5, 5, 5, 5]  # a partition: every item in exactly one of the 4
    for cls in range(3):
        counts = np.bincount(folds[labels == cls], minlength=4)
        assert counts.max() - counts.min() <= 1, (cls, counts)
    assert np.array_equal(folds, detection.stratified_folds(labels, 4, seed=5))
    assert not np.array_equal(folds, detection.stratified_folds(labels, 4, seed=6))
    with pytest.raises(ValueError, match=r"folds=1 for 20 items: choose 2 <= folds <= 20"):
        detection.stratified_folds(labels, 1, seed=5)


def test_probabilities_survive_their_text_form_to_float16_precision() -> None:
    probabilities = torch.softmax(torch.randn(7, 10, generator=torch.Generator().manual_seed(0)), 1).double().numpy()
    decoded = detection.decode_probabilities(detection.encode_probabilities(probabilities), 10)
    assert decoded.shape == (7, 10) and np.allclose(decoded.sum(1), 1)
    assert np.abs(decoded - probabilities).max() < 1e-3
    with pytest.raises(ValueError, match="21 probabilities do not make rows of 10 classes"):
        detection.decode_probabilities(detection.encode_probabilities(np.ones(21)), 10)


def fold_records(probabilities: np.ndarray, given: np.ndarray, true: np.ndarray, folds: int) -> list[dict]:
    """The records of a ``folds``-fold setting, as far as the joining reads them, holding out the
    folds of stratified_folds (seed 0) of the given labels."""
    fold = detection.stratified_folds(given, folds, seed=0)
    classes = probabilities.shape[1]
    return [{"config": {"dataset": "mnist", "loss": "ce", "holdout_folds": folds, "holdout_fold": f, "holdout_seed": 0},
             "noise": {"transition": np.eye(classes).tolist()},
             "held_out": {"sample_size": len(given), "indices": np.flatnonzero(fold == f).tolist(),
                          "given": given[fold == f].tolist(), "true": true[fold == f].tolist(),
                          "probabilities": detection.encode_probabilities(probabilities[fold == f])}}
            for f in range(folds)]


def planted(count: int = 400, classes: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probabilities sure of the true class of every image, and given labels wrong on 40 images."""
    rng = np.random.default_rng(0)
    true = np.arange(count) % classes
    given = true.copy()
    wrong = rng.choice(count, 40, replace=False)
    given[wrong] = (true[wrong] + 1 + rng.integers(0, classes - 1, 40)) % classes
    probabilities = np.full((count, classes), 0.02)
    probabilities[np.arange(count), true] = 1 - 0.02 * (classes - 1)
    return probabilities, given, true


def test_joined_out_of_sample_folds_flag_exactly_the_planted_wrong_labels() -> None:
    probabilities, given, true = planted()
    records = fold_records(probabilities, given, true, 4)
    scores = detection.out_of_sample_confident_learning(records[::-1])  # in any order
    assert (scores["flagged"], scores["mislabelled"], scores["scored"], scores["folds"]) == (40, 40, 400, 4)
    assert scores["precision"] == scores["recall"] == scores["f1"] == 1.0


def test_joining_refuses_anything_but_one_settings_k_folds() -> None:
    probabilities, given, true = planted()
    records = fold_records(probabilities, given, true, 4)
    with pytest.raises(ValueError, match=r"needs folds 0\.\.3 each once, got \[0, 1, 2\]"):
        detection.out_of_sample_confident_learning(records[:3])
    other_seed = [*records[:3], {**records[3], "config": {**records[3]["config"], "holdout_seed": 1}}]
    with pytest.raises(ValueError, match="differ beyond holdout_fold"):
        detection.out_of_sample_confident_learning(other_seed)
    overlapping = [*records[:3], {**records[3], "held_out": {**records[3]["held_out"],
                                                             "indices": records[0]["held_out"]["indices"]}}]
    with pytest.raises(ValueError, match="do not partition the 400 images"):
        detection.out_of_sample_confident_learning(overlapping)
    with pytest.raises(ValueError, match="need the records of a k-fold setting"):
        detection.out_of_sample_confident_learning([{"config": {"dataset": "mnist"}}])


def random_mnist(train: int = 240, test: int = 40) -> ImageDataset:
    """MNIST-shaped random images (every one distinct), labels 0..9 in turn."""
    generator = torch.Generator().manual_seed(0)
    images = {split: torch.randint(0, 256, (count, 1, 28, 28), dtype=torch.uint8, generator=generator)
              for split, count in (("train", train), ("test", test))}
    return ImageDataset("mnist", images["train"], torch.arange(train) % 10, images["test"], torch.arange(test) % 10,
                        MNIST_CLASSES, (0.1307,), (0.3081,), "random")


def test_a_held_out_fold_of_the_scored_sample_is_out_of_training_and_the_folds_cover_the_sample() -> None:
    dataset = random_mnist()
    base = RunConfig("mnist", "ce", noise="sym:0.4", train_eval_size=80)
    plain = prepare_data(base.resolved(), dataset, torch.device("cpu"))
    sample = plain.images[plain.eval_index]
    covered = []
    for fold in range(4):
        data = prepare_data(replace(base, holdout_folds=4, holdout_fold=fold).resolved(), dataset, torch.device("cpu"))
        held = data.held_out
        assert held.sample_size == 80 and len(held.positions) == 20 and len(data.images) == 240 - 20
        assert torch.equal(held.images, sample[held.positions])  # the sample's images at those positions
        assert np.array_equal(held.given, plain.labels[plain.eval_index][held.positions].numpy())
        assert np.array_equal(held.true, plain.true_labels[plain.eval_index][held.positions].numpy())
        trained = {bytes(image.flatten().tolist()) for image in data.images}
        assert not any(bytes(image.flatten().tolist()) in trained for image in held.images)
        rest = np.setdiff1d(np.arange(80), held.positions)  # the other folds stay scored, in order
        assert torch.equal(data.images[data.eval_index], sample[rest])
        assert torch.equal(data.labels[data.eval_index], plain.labels[plain.eval_index][rest])
        covered += held.positions.tolist()
    assert sorted(covered) == list(range(80))


@pytest.mark.slow
def test_four_fold_runs_record_their_held_out_probabilities_and_join(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("ANL_CHECKPOINTS", raising=False)
    dataset, store = random_mnist(), ResultsStore(tmp_path)
    configs = [RunConfig("mnist", "ce", noise="sym:0.4", epochs=1, batch_size=60, train_eval_size=80, holdout_folds=4,
                         holdout_fold=fold, precision="fp32") for fold in range(4)]
    records = [train_run(config, store, dataset=dataset, device="cpu", progress=False) for config in configs]
    records = [store.read(record["key"]) for record in records]  # written and read back: the schema holds
    for fold, record in enumerate(records):
        assert {name: record["config"][name] for name in ("holdout_folds", "holdout_fold", "holdout_seed")} == {
            "holdout_folds": 4, "holdout_fold": fold, "holdout_seed": HOLDOUT_SEED}
        assert record["noise"]["train_size"] == 240 - 20
        assert record["summary"]["confident_learning"]["scored"] == 60  # in-sample: the other folds
        assert detection.decode_probabilities(record["held_out"]["probabilities"], 10).shape == (20, 10)
    scores = detection.out_of_sample_confident_learning(records)
    assert scores["scored"] == 80 and scores["folds"] == 4
    assert scores["mislabelled"] == sum(np.sum(np.array(record["held_out"]["given"]) != record["held_out"]["true"])
                                        for record in records)


def test_fold_fields_stay_out_of_a_runs_key_until_set_and_bad_ones_are_named() -> None:
    plain = RunConfig("mnist", "ce")
    assert not {"holdout_folds", "holdout_fold", "holdout_seed"} & set(plain.resolved())
    assert replace(plain, holdout_seed=7).key == plain.key  # a seed without folds splits nothing
    fold = replace(plain, holdout_folds=4, holdout_fold=3)
    assert fold.key != plain.key and fold.key != replace(fold, holdout_fold=2).key
    for config, message in [(replace(plain, holdout_folds=1), r"invalid holdout_folds=1: must be >= 2"),
                            (replace(fold, holdout_fold=4), r"invalid holdout_fold=4: must lie in 0\.\.3"),
                            (replace(plain, holdout_fold=2), r"invalid holdout_fold=2: needs holdout_folds >= 2")]:
        with pytest.raises(ValueError, match=message):
            config.resolved()
