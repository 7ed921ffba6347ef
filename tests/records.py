"""Sound run records written by hand (no training), for the tests of the readers: every field of
anl/record.schema.json, the summary computed from the epochs as the trainers compute it."""

from __future__ import annotations

from typing import Any

from anl import losses
from anl.segmentation import LOSS_PRESET, SegmentationConfig
from anl.train import RunConfig

TEST_IMAGES = 10_000


def provenance(*, sha: str = "0123456789abcdef", dirty: bool | None = False, source: str = "/d/mnist (IDX)",
               wall: float = 1800.0, threads: int = 2) -> dict[str, Any]:
    return {"git_sha": sha, "git_dirty": dirty, "code_version_source": "git",
            "packages": {"python": "3.11.7", "torch": "2.13.0+cpu", "numpy": "2.4.6", "anl": "0.1.0"},
            "device": "cpu", "device_name": "cpu", "threads": threads, "amp_bf16": False, "data_source": source,
            "wall_time_s": wall, "finished": "2026-01-02T03:04:05Z"}


def classification_record(config: RunConfig, final: float, **provenance_fields: Any) -> dict[str, Any]:
    """A record of ``config`` whose test accuracy ends at ``final`` after peaking at final + 0.05
    (at most 1) one epoch before (or is ``final`` throughout for one epoch), while the wrong labels fitted rise
    from 0 to 0.2 (0 for one epoch); two classes, noise rate 0.4."""
    resolved = config.resolved()
    count = resolved["epochs"]
    accuracies = [final] if count == 1 else [final - 0.1] * (count - 2) + [min(final + 0.05, 1.0), final]
    epochs = [{"epoch": index + 1, "lr": 0.01, "train_objective": 1.0, "test_acc": accuracy, "test_loss": 1.0,
               "clean_acc": 0.9, "clean_loss": 0.5, "noisy_acc_given": 0.2 * index / max(count - 1, 1), "noisy_acc_true": 0.5,
               "noisy_loss": 2.0, "train_time_s": 3.0, "eval_time_s": 1.0} for index, accuracy in enumerate(accuracies)]
    best = max(range(count), key=lambda index: (accuracies[index], -index))
    correct = round(final * TEST_IMAGES)
    hparams = losses.build(resolved["loss"], resolved["dataset"], **resolved["loss_overrides"]).hparams()
    return {
        "key": config.key, "config": resolved, "loss_hparams": hparams,
        "noise": {"spec": resolved["noise"], "rate": 0.4, "train_size": 10_000, "transition": [[0.6, 0.4], [0.4, 0.6]],
                  "nominal": None},
        "epochs": epochs,
        "summary": {"final_test_acc": final, "best_test_acc": accuracies[best], "best_epoch": best + 1,
                    "final_noisy_acc_given": epochs[-1]["noisy_acc_given"],
                    "test_confusion": [[correct, TEST_IMAGES - correct], [0, 0]]},
        "provenance": provenance(**provenance_fields),
    }


def segmentation_record(config: SegmentationConfig, final_dice: float, **provenance_fields: Any) -> dict[str, Any]:
    """A record of ``config`` whose test Dice rises by 0.1 a epoch to ``final_dice`` (validation
    Dice the same), Jaccard = Dice / 2; four test images, every mask noisy."""
    resolved = config.resolved()
    resolved["size"] = list(resolved["size"])
    count = resolved["epochs"]
    dice = [final_dice - 0.1 * (count - 1 - index) for index in range(count)]
    epochs = [{"epoch": index + 1, "lr": 0.001, "train_objective": 0.5, "test_dice": value, "test_jaccard": value / 2,
               "test_thresholded_jaccard": value / 4, "val_dice": value, "val_jaccard": value / 2,
               "val_thresholded_jaccard": value / 4, "noisy_dice_given": 0.6, "noisy_dice_true": 0.7,
               "flipped_fit_given": 0.3, "train_time_s": 3.0, "eval_time_s": 1.0} for index, value in enumerate(dice)]
    last = epochs[-1]
    amounts = {"spec": resolved["noise"], "rate": 1.0, "train_size": 2_000, "noisy_masks": 2_000,
               "pixel_flip_fraction": 0.05, "pixel_flip_fraction_noisy": 0.05, "dice": 0.7}
    hparams = losses.build(resolved["loss"], LOSS_PRESET, **resolved["loss_overrides"]).hparams()
    return {
        "key": config.key, "config": resolved, "loss_hparams": hparams,
        "noise": {**amounts, "native_256x192": dict(amounts)},
        "epochs": epochs,
        "summary": {"final_test_dice": final_dice, "final_test_jaccard": final_dice / 2,
                    "final_test_thresholded_jaccard": final_dice / 4, "final_val_dice": final_dice,
                    "best_val_epoch": count, "best_val_test_dice": final_dice, "best_val_test_jaccard": final_dice / 2,
                    "best_val_test_thresholded_jaccard": final_dice / 4, "oracle_best_test_dice": final_dice,
                    **{f"final_{name}": last[name] for name in ("noisy_dice_given", "noisy_dice_true",
                                                                 "flipped_fit_given")}},
        "per_image": {"dice": [final_dice] * 4, "jaccard": [final_dice / 2] * 4},
        "examples": {"indices": [0, 2], "size": [16, 12], "masks": ["AAAA", "AAAA"]},
        "provenance": provenance(**provenance_fields),
    }
