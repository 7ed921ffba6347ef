"""anl/record.schema.json and anl.results.record_problem: every committed record is sound; a record
damaged in any one way is refused by every reader and by ``check-results`` with its file and the
path of the field at fault; the optional fields of newer records are checked when present."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from anl import detection, results
from anl.cli import main
from anl.data import SEGMENTATION_DATASETS
from anl.segmentation import SegmentationConfig
from anl.train import RunConfig
from records import classification_record, segmentation_record

CLASSIFICATION = RunConfig("mnist", "ce", noise="sym:0.4", epochs=3, train_subset=1_000)
SEGMENTATION = SegmentationConfig("dice", noise="boundary:1:8-16", epochs=3, size=(64, 48), base_width=8)


def sound(kind: str = "classification") -> dict[str, Any]:
    if kind == "classification":
        return classification_record(CLASSIFICATION, 0.8)
    return segmentation_record(SEGMENTATION, 0.7)


def write(store: results.ResultsStore, record: dict[str, Any]) -> Any:
    """The record written as is (NaN and infinities as Python's json writes them) under its key."""
    path = store.runs / f"{record['key']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    return path


def rekeyed(record: dict[str, Any]) -> None:
    """Give a record whose config was damaged its config's key, so the config is the only problem."""
    record["key"] = results.config_key(record["config"])


def setter(*path: str | int, value: Any) -> Callable[[dict[str, Any]], None]:
    def damage(record: dict[str, Any]) -> None:
        node = record
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
        if path[0] == "config":
            rekeyed(record)
    return damage


def deleter(*path: str | int) -> Callable[[dict[str, Any]], None]:
    def damage(record: dict[str, Any]) -> None:
        node = record
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]
        if path[0] == "config":
            rekeyed(record)
    return damage


def swap_first_epochs(record: dict[str, Any]) -> None:
    record["epochs"][:2] = record["epochs"][1::-1]


def drop_last_epoch(record: dict[str, Any]) -> None:
    record["epochs"].pop()


def confusion_of_other_accuracy(record: dict[str, Any]) -> None:
    record["summary"]["test_confusion"] = [[7000, 3000], [0, 0]]


def confident_learning(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def damage(record: dict[str, Any]) -> None:
        record["summary"]["confident_learning"] = {**CONFIDENT_LEARNING, **changes}
    return damage


def code_versions(*ranges: tuple[int, int], **changes: Any) -> Callable[[dict[str, Any]], None]:
    def damage(record: dict[str, Any]) -> None:
        record["provenance"]["code_versions"] = [
            {"git_sha": f"{index}" * 40, "git_dirty": False, "code_version_source": "git", "first_epoch": first,
             "last_epoch": last, **changes} for index, (first, last) in enumerate(ranges)]
    return damage


def held_out(config_changes: dict[str, Any] | None = None, **changes: Any) -> Callable[[dict[str, Any]], None]:
    """Make the record one of fold 1 of 4 (its config and held_out field), with ``changes`` to both."""
    def damage(record: dict[str, Any]) -> None:
        record["config"].update({"holdout_folds": 4, "holdout_fold": 1, "holdout_seed": 0, **(config_changes or {})})
        rekeyed(record)
        record["held_out"] = {**HELD_OUT, **changes}
    return damage


HELD_OUT = {"sample_size": 8, "indices": [1, 6], "given": [0, 1], "true": [0, 0],
            "probabilities": detection.encode_probabilities(np.array([[0.9, 0.1], [0.25, 0.75]]))}
CONFIDENT_LEARNING = {"method": "find_label_issues, prune_by_noise_rate", "cleanlab": "2.7.1", "flagged": 120,
                      "mislabelled": 400, "scored": 1_000, "precision": 0.9, "recall": 0.27, "f1": 0.415}
MISLABEL_FIELDS = ("mislabel_auc_loss", "mislabel_ap_loss", "mislabel_auc_margin", "mislabel_ap_margin")

# (kind of record, damage, the problem read_record names: the field's path first)
DAMAGE: dict[str, tuple[str, Callable[[dict[str, Any]], None], str]] = {
    "percent instead of fraction": ("classification", setter("summary", "final_test_acc", value=23.3),
                                    r"summary\.final_test_acc: 23\.3 is greater than the maximum of 1"),
    "percent in an epoch": ("classification", setter("epochs", 2, "test_acc", value=80.0),
                            r"epochs\[2\]\.test_acc: 80\.0 is greater than the maximum of 1"),
    "string accuracy": ("classification", setter("epochs", 1, "test_acc", value="0.85"),
                        r"epochs\[1\]\.test_acc: '0\.85' is not of type 'number'"),
    "removed noise.rate": ("classification", deleter("noise", "rate"), r"noise: 'rate' is a required property"),
    "NaN accuracy": ("classification", setter("epochs", 2, "test_acc", value=math.nan),
                     r"epochs\[2\]\.test_acc: nan is not of type 'number'"),
    "infinite time": ("classification", setter("epochs", 0, "train_time_s", value=math.inf),
                      r"epochs\[0\]\.train_time_s: inf is not of type 'number'"),
    "-inf hyperparameter": ("classification", setter("loss_hparams", "delta", value=-math.inf),
                            r"loss_hparams\.delta: -inf is not of type 'number'"),
    "NaN noise rate": ("classification", setter("noise", "rate", value=math.nan),
                       r"noise\.rate: nan is not of type 'number'"),
    "summary's final disagrees with the last epoch": (
        "classification", setter("summary", "final_test_acc", value=0.7),
        r"summary\.final_test_acc: 0\.7 is not the last epoch's test_acc \(0\.8\)"),
    "summary's best is not the maximum": ("classification", setter("summary", "best_test_acc", value=0.8),
                                          r"summary\.best_test_acc: 0\.8 is not the epochs' highest test_acc"),
    "summary's best epoch is not the maximum's": ("classification", setter("summary", "best_epoch", value=3),
                                                  r"summary\.best_epoch: 3 is not the first epoch of the highest"),
    "summary's memorisation disagrees": ("classification", setter("summary", "final_noisy_acc_given", value=0.5),
                                         r"summary\.final_noisy_acc_given: 0\.5 is not the last epoch's"),
    "missing epoch": ("classification", deleter("epochs", 1), r"epochs\[1\]\.epoch: 3 where 2 is due"),
    "epochs out of order": ("classification", swap_first_epochs, r"epochs\[0\]\.epoch: 2 where 1 is due"),
    "fewer epochs than the config's": ("classification", drop_last_epoch,
                                       r"epochs: 2 epochs where config\.epochs is 3 \(a record is of a finished run\)"),
    "no epochs": ("classification", setter("epochs", value=[]), r"epochs: \[\] should be non-empty"),
    "epoch number zero": ("classification", setter("epochs", 0, "epoch", value=0),
                          r"epochs\[0\]\.epoch: 0 is less than the minimum of 1"),
    "negative time": ("classification", setter("epochs", 0, "eval_time_s", value=-0.5),
                      r"epochs\[0\]\.eval_time_s: -0\.5 is less than the minimum of 0"),
    "negative wall time": ("classification", setter("provenance", "wall_time_s", value=-1.0),
                           r"provenance\.wall_time_s: -1\.0 is less than the minimum of 0"),
    "transition row not summing to 1": ("classification", setter("noise", "transition", 0, value=[0.6, 0.3]),
                                        r"noise\.transition\[0\]: sums to 0\.9, not 1"),
    "transition not square": ("classification", setter("noise", "transition", 1, value=[0.2, 0.4, 0.4]),
                              r"noise\.transition: not 2 x 2"),
    "transition probability above 1": ("classification", setter("noise", "transition", 0, 0, value=1.5),
                                       r"noise\.transition\[0\]\[0\]: 1\.5 is greater than the maximum of 1"),
    "nominal of another size": ("classification", setter("noise", "nominal", value=[[1.0]]),
                                r"noise\.nominal: not 2 x 2"),
    "noise rate above 1": ("classification", setter("noise", "rate", value=1.4),
                           r"noise\.rate: 1\.4 is greater than the maximum of 1"),
    "train size zero": ("classification", setter("noise", "train_size", value=0),
                        r"noise\.train_size: 0 is less than the minimum of 1"),
    "confusion of another size": ("classification", setter("summary", "test_confusion", value=[[1]]),
                                  r"summary\.test_confusion: not 2 x 2"),
    "confusion of another accuracy": ("classification", confusion_of_other_accuracy,
                                      r"summary\.test_confusion: its accuracy 0\.7 is not summary\.final_test_acc"),
    "negative count in the confusion": ("classification", setter("summary", "test_confusion", 1, 0, value=-3),
                                        r"summary\.test_confusion\[1\]\[0\]: -3 is less than the minimum of 0"),
    "wrong key": ("classification", setter("key", value="0123456789abcdef"),
                  r"key: '0123456789abcdef' does not match its config \(whose key is '[0-9a-f]{16}'\)"),
    "key not hexadecimal": ("classification", setter("key", value="run-1"),
                            r"key: 'run-1' does not match '\^\[0-9a-f\]\{16\}\$'"),
    "unknown top-level field": ("classification", setter("notes", value="rerun"),
                                r"Additional properties are not allowed \('notes' was unexpected\)"),
    "misspelt optional epoch field": ("classification", setter("epochs", 0, "mislabel_auc_los", value=0.5),
                                      r"epochs\[0\]: Unevaluated properties are not allowed \('mislabel_auc_los' was"),
    "unknown summary field": ("classification", setter("summary", "final_acc", value=0.8),
                              r"summary: Additional properties are not allowed \('final_acc' was unexpected\)"),
    "bool where an integer is due": ("classification", setter("summary", "best_epoch", value=True),
                                     r"summary\.best_epoch: True is not of type 'integer'"),
    "bool accuracy": ("classification", setter("epochs", 0, "test_acc", value=False),
                      r"epochs\[0\]\.test_acc: False is not of type 'number'"),
    "fractional epoch": ("classification", setter("epochs", 0, "epoch", value=1.5),
                         r"epochs\[0\]\.epoch: 1\.5 is not of type 'integer'"),
    "epochs not an array": ("classification", setter("epochs", value={"1": {}}),
                            r"epochs: \{'1': \{\}\} is not of type 'array'"),
    "config without its seed": ("classification", deleter("config", "seed"), r"config: 'seed' is a required property"),
    "config with an unknown field": ("classification", setter("config", "momentum", value=0.9),
                                     r"config: Unevaluated properties are not allowed \('momentum' was unexpected\)"),
    "config's epochs zero": ("classification", setter("config", "epochs", value=0),
                             r"config\.epochs: 0 is less than the minimum of 1"),
    "config's lr zero": ("classification", setter("config", "lr", value=0.0),
                         r"config\.lr: 0\.0 is less than or equal to the minimum of 0"),
    "unknown precision": ("classification", setter("config", "precision", value="fp16"),
                          r"config\.precision: 'fp16' is not one of \['fp32', 'bf16'\]"),
    "string loss override": ("classification", setter("config", "loss_overrides", "delta", value="0"),
                             r"config\.loss_overrides\.delta: '0' is not of type 'number'"),
    "provenance without its packages": ("classification", deleter("provenance", "packages"),
                                        r"provenance: 'packages' is a required property"),
    "git_dirty a string": ("classification", setter("provenance", "git_dirty", value="no"),
                           r"provenance\.git_dirty: 'no' is not of type 'boolean', 'null'"),
    "finishing time not UTC ISO 8601": ("classification", setter("provenance", "finished", value="yesterday"),
                                        r"provenance\.finished: 'yesterday' does not match"),
    "zero threads": ("classification", setter("provenance", "threads", value=0),
                     r"provenance\.threads: 0 is less than the minimum of 1"),
    "mislabel AUC above 1": ("classification", setter("epochs", 1, "mislabel_auc_loss", value=1.2),
                             r"epochs\[1\]\.mislabel_auc_loss: 1\.2 is greater than the maximum of 1"),
    "mislabel AP a string": ("classification", setter("epochs", 1, "mislabel_ap_margin", value="high"),
                             r"epochs\[1\]\.mislabel_ap_margin: 'high' is not of type 'number', 'null'"),
    "confident learning without cleanlab's version": (
        "classification", lambda record: (confident_learning()(record),
                                          record["summary"]["confident_learning"].pop("cleanlab")),
        r"summary\.confident_learning: 'cleanlab' is a required property"),
    "confident learning negative count": ("classification", confident_learning(flagged=-1),
                                          r"summary\.confident_learning\.flagged: -1 is less than the minimum of 0"),
    "confident learning scored nothing": ("classification", confident_learning(scored=0),
                                          r"summary\.confident_learning\.scored: 0 is less than the minimum of 1"),
    "confident learning precision above 1": ("classification", confident_learning(precision=90.0),
                                             r"summary\.confident_learning\.precision: 90\.0 is greater than"),
    "confident learning flags more than it scored": (
        "classification", confident_learning(flagged=1_200),
        r"summary\.confident_learning\.flagged: 1200 is more than the 1000 images scored"),
    "code versions with a gap": ("classification", code_versions((1, 1), (3, 3)),
                                 r"provenance\.code_versions\[1\]: epochs 3\.\.3 where the next epochs start at 2"),
    "code versions short of the last epoch": ("classification", code_versions((1, 1), (2, 2)),
                                              r"provenance\.code_versions: end at epoch 2, not at the last epoch 3"),
    "code version without its epochs": ("classification", code_versions((1, 1), (2, 3), last_epoch=None),
                                        r"provenance\.code_versions\[\d\]\.last_epoch: None is not of type 'integer'"),
    "held-out fold without its probabilities": ("classification", lambda record: (held_out()(record),
                                                                               record.pop("held_out")),
                                                "'held_out' is a required property"),
    "held-out probabilities without a held-out fold": ("classification", setter("held_out", value=HELD_OUT),
                                                       r"held_out: not allowed in a record without config\.holdout_folds"),
    "held-out fold beyond the folds": ("classification", held_out({"holdout_fold": 4}),
                                       r"config\.holdout_fold: 4 is not one of the 4 folds"),
    "held-out fold seed without its folds": ("classification", setter("config", "holdout_seed", value=0),
                                             r"config: 'holdout_folds' is a dependency of 'holdout_seed'"),
    "held-out probabilities one row short": (
        "classification", held_out(probabilities=detection.encode_probabilities(np.array([[0.9, 0.1]]))),
        r"held_out\.probabilities: 1 is not a row per held-out image \(2\)"),
    "held-out probabilities not whole rows": (
        "classification", held_out(probabilities=detection.encode_probabilities(np.array([0.9, 0.1, 0.5]))),
        r"held_out\.probabilities: 3 probabilities do not make rows of 2 classes"),
    "held-out label beyond the classes": ("classification", held_out(given=[0, 2]),
                                          r"held_out\.given: not 2 labels \(one per held-out image\) below 2 classes"),
    "held-out image beyond the sample": ("classification", held_out(indices=[1, 8]),
                                         r"held_out\.indices: not distinct positions in the scored sample of 8"),
    "held-out probabilities not base64": ("classification", held_out(probabilities="0.9,0.1"),
                                          r"held_out\.probabilities: '0\.9,0\.1' does not match"),
    "segmentation field in a classification record": (
        "classification", setter("per_image", value={"dice": [0.5], "jaccard": [0.3]}),
        r"per_image: not allowed in a record of this config\.dataset"),
    "segmentation Dice above 1": ("segmentation", setter("epochs", 0, "test_dice", value=1.3),
                                  r"epochs\[0\]\.test_dice: 1\.3 is greater than the maximum of 1"),
    "segmentation summary disagrees": ("segmentation", setter("summary", "final_test_dice", value=0.5),
                                       r"summary\.final_test_dice: 0\.5 is not the last epoch's test_dice"),
    "segmentation best-validation epoch wrong": ("segmentation", setter("summary", "best_val_epoch", value=1),
                                                 r"summary\.best_val_epoch: 1 is not the first epoch of the highest"),
    "segmentation per-image scores of another mean": (
        "segmentation", setter("per_image", "dice", value=[0.1, 0.2, 0.3, 0.4]),
        r"per_image\.dice: its mean 0\.25 is not summary\.final_test_dice"),
    "segmentation example beyond the test images": ("segmentation", setter("examples", "indices", value=[0, 9]),
                                                    r"examples\.indices: \[0, 9\] names an image beyond the 4"),
    "segmentation without its native noise": ("segmentation", deleter("noise", "native_256x192"),
                                              r"noise: 'native_256x192' is a required property"),
    "segmentation more noisy masks than masks": ("segmentation", setter("noise", "noisy_masks", value=2_001),
                                                 r"noise\.noisy_masks: 2001 is more than train_size 2000"),
    "segmentation without its examples": ("segmentation", deleter("examples"),
                                          r"'examples' is a required property"),
    "segmentation config without its size": ("segmentation", deleter("config", "size"),
                                             r"config: 'size' is a required property"),
    "classification field in a segmentation epoch": ("segmentation", setter("epochs", 2, "test_acc", value=0.5),
                                                     r"epochs\[2\]: Unevaluated properties are not allowed"),
}


def damaged(store: results.ResultsStore, name: str) -> tuple[Any, str]:
    kind, damage, problem = DAMAGE[name]
    record = sound(kind)
    damage(record)
    return write(store, record), problem


@pytest.mark.parametrize("name", DAMAGE)
def test_a_damaged_record_is_refused_by_every_reader_naming_its_file_and_field(tmp_path, name):
    store = results.ResultsStore(tmp_path)
    path, problem = damaged(store, name)
    for read in (lambda: store.read(path.stem), lambda: list(store.records()),
                 lambda: results.load_summaries(tmp_path), lambda: results.load_results(tmp_path)):
        with pytest.raises(results.DamagedRecordError) as caught:
            read()
        assert caught.value.path == path
        assert re.match(rf"{re.escape(str(path))}: {problem}", str(caught.value)), str(caught.value)
        assert "\n" not in str(caught.value) and len(caught.value.problem) < 200


def test_check_results_lists_every_kind_of_damage_and_passes_the_sound_records(tmp_path, capsys):
    store = results.ResultsStore(tmp_path)
    write(store, sound("classification"))
    write(store, sound("segmentation"))
    for index, name in enumerate(DAMAGE):
        # a subfolder per damage: two damaged copies of one record would share a file
        damaged(results.ResultsStore(tmp_path / str(index)), name)
    for index, name in enumerate(DAMAGE):
        with pytest.raises(SystemExit) as caught:
            main(["check-results", "--results", str(tmp_path / str(index))])
        assert caught.value.code == 1, name
        out = capsys.readouterr().out
        assert re.search(DAMAGE[name][2], out), (name, out)
    assert main(["check-results", "--results", str(tmp_path)]) == 0


@pytest.mark.parametrize("kind", ["classification", "segmentation"])
def test_a_sound_record_without_the_optional_fields_passes(tmp_path, kind):
    store = results.ResultsStore(tmp_path)
    path = write(store, sound(kind))
    assert results.read_record(path)["key"] == path.stem


def test_a_record_with_every_optional_field_passes(tmp_path):
    record = sound()
    for index, epoch in enumerate(record["epochs"]):
        epoch.update({name: None if index == 0 else 0.5 + index / 10 for name in MISLABEL_FIELDS})
    record["summary"]["confident_learning"] = CONFIDENT_LEARNING
    code_versions((1, 2), (3, 3))(record)
    record["provenance"]["batched_runs"] = 4
    record["noise"]["nominal"] = [[0.6, 0.4], [0.4, 0.6]]
    held_out()(record)
    store = results.ResultsStore(tmp_path)
    assert results.read_record(write(store, record)) == record
    record["summary"]["confident_learning"] = None
    record["key"] = results.config_key({**record["config"], "seed": 2})
    record["config"]["seed"] = 2
    assert results.read_record(write(store, record))["summary"]["confident_learning"] is None


def test_the_schema_tells_segmentation_records_by_the_segmentation_datasets():
    assert (results.SCHEMA["if"]["properties"]["config"]["properties"]["dataset"]["const"],) == SEGMENTATION_DATASETS
