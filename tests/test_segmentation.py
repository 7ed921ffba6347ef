"""Segmentation (anl.segmentation and the Dice loss): the Dice loss against a float64 numpy
reference and gradcheck, every segmentation loss per pixel, metrics by hand (the 0.65 threshold
included), the U-Net, flips, configs and grids, records that round-trip through anl.results, a
bit-identical resume, the command line, and a tiny real ISIC run that learns."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from anl import cli, losses, segmentation
from anl.experiments import grid, segmentation_protocol
from anl.data import SegmentationDataset, resize_images, resize_masks
from anl.mask_noise import parse_mask_noise
from anl.models import UNet
from anl.results import ResultsStore, load_results, load_summaries
from anl.segmentation import (
    SegmentationConfig, example_predictions, flip_batch, mask_scores, memorisation_scores, train_segmentation,
)

TIMING_FIELDS = ("train_time_s", "eval_time_s")


@pytest.fixture(autouse=True)
def checkpoints_in_tmp(tmp_path, monkeypatch):
    monkeypatch.delenv("ANL_CHECKPOINTS", raising=False)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These tensors are tiny: one intra-op thread is faster, and on a busy machine many times
    faster (two OpenMP threads wait on each other when a core is taken)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ----------------------------------------------------------------------------- Dice loss
def np_dice(z: np.ndarray, y: np.ndarray, eps: float) -> np.ndarray:
    """Per image: mean over c >= 1 of 1 - (2 sum p_c g_c + eps) / (sum p_c + sum g_c + eps)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    values = np.zeros(len(z))
    for n in range(len(z)):
        per_class = []
        for c in range(1, z.shape[1]):
            g = (y[n] == c).astype(np.float64)
            per_class.append(1 - (2 * (p[n, c] * g).sum() + eps) / (p[n, c].sum() + g.sum() + eps))
        values[n] = np.mean(per_class)
    return values


@pytest.mark.parametrize("classes, eps", [(2, 1.0), (2, 1e-3), (3, 1.0)])
def test_dice_loss_matches_numpy_reference(classes, eps):
    g = torch.Generator().manual_seed(classes)
    z = 2 * torch.randn(3, classes, 5, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, classes, (3, 5, 4), generator=g)
    y[2] = 0  # an image without lesion
    loss = losses.build("dice", eps=eps).data_term
    value = loss(z, y)
    assert value.shape == (3,) and value.dtype == torch.float64
    np.testing.assert_allclose(value.numpy(), np_dice(z.numpy(), y.numpy(), eps), rtol=1e-12)
    np.testing.assert_allclose(loss(z.float(), y).numpy(), np_dice(z.numpy(), y.numpy(), eps), rtol=1e-5)
    assert torch.autograd.gradcheck(lambda t: loss(t, y), z.clone().requires_grad_(True))


def test_dice_loss_limits_and_objective():
    y = torch.zeros(2, 4, 4, dtype=torch.long)
    y[0, :2] = 1
    perfect = 50.0 * (torch.nn.functional.one_hot(y, 2).permute(0, 3, 1, 2).double() - 0.5)
    value = losses.build("dice").data_term(perfect, y)
    assert value.max() < 1e-6  # empty image predicted empty: 0 thanks to eps
    objective = losses.build("Dice")
    assert objective.name == "dice" and objective.hparams() == {"eps": 1.0, "delta": 0.0, "lambda": 0.0}
    z = torch.randn(2, 2, 4, 4, dtype=torch.float64)
    assert objective(z, y).item() == pytest.approx(objective.data_term(z, y).mean().item())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert objective(z.bfloat16(), y).dtype == torch.float32


def test_dice_is_registered_for_pixels_only():
    assert "dice" in losses.PIXEL_LOSSES and "dice" not in losses.LOSSES
    assert losses.display_name("dice") == "Dice"
    with pytest.raises(ValueError, match=r"dice loss needs per-pixel logits \(N, K, \*spatial\), got \(4, 2\)"):
        losses.build("dice")(torch.randn(4, 2), torch.tensor([0, 1, 1, 0]))
    with pytest.raises(ValueError, match="unknown loss 'dic'; valid: .*, dice$"):
        losses.build("dic")
    with pytest.raises(ValueError, match="eps must be > 0"):
        losses.build("dice", eps=0)


@pytest.mark.parametrize("key", segmentation.SEGMENTATION_LOSSES)
def test_every_segmentation_loss_works_per_pixel(key):
    objective = losses.build(key, dataset=segmentation.LOSS_PRESET)
    g = torch.Generator().manual_seed(3)
    z = (3 * torch.randn(2, 2, 6, 8, generator=g)).requires_grad_(True)
    y = torch.randint(0, 2, (2, 6, 8), generator=g)
    values = objective.data_term(z, y)
    assert values.shape == ((2,) if key == "dice" else (2, 6, 8))
    (grad,) = torch.autograd.grad(objective(z, y), z)
    assert torch.isfinite(values).all() and torch.isfinite(grad).all() and grad.abs().sum() > 0


# ----------------------------------------------------------------------------- metrics
def masks_with(pixels: int, shape=(5, 6)) -> torch.Tensor:
    mask = torch.zeros(shape[0] * shape[1], dtype=torch.bool)
    mask[:pixels] = True
    return mask.view(shape)


def test_mask_scores_by_hand_and_the_threshold():
    # P covers the first 13 of T's 20 pixels: J = 13/20 = 0.65 (kept); P = 12 pixels: J = 0.6 (-> 0)
    predictions = torch.stack([masks_with(13), masks_with(12), masks_with(0), masks_with(0), masks_with(30)])
    targets = torch.stack([masks_with(20), masks_with(20), masks_with(0), masks_with(4), masks_with(10)])
    scores = mask_scores(predictions, targets)
    np.testing.assert_allclose(scores["dice"].numpy(), [26 / 33, 24 / 32, 1, 0, 20 / 40])
    np.testing.assert_allclose(scores["jaccard"].numpy(), [0.65, 0.6, 1, 0, 10 / 30])
    np.testing.assert_allclose(scores["thresholded_jaccard"].numpy(), [0.65, 0, 1, 0, 0])
    means = segmentation.mean_scores(predictions, targets, "test")
    assert means["test_jaccard"] == pytest.approx((0.65 + 0.6 + 1 + 1 / 3) / 5)
    with pytest.raises(ValueError, match="must both be"):
        mask_scores(predictions[0], targets[0])


def test_memorisation_scores_by_hand():
    true = torch.stack([masks_with(10), masks_with(10)])
    given = torch.stack([masks_with(14), masks_with(6)])  # 4 extra pixels, then 4 missing
    predictions = torch.stack([masks_with(12), masks_with(10)])
    scores = memorisation_scores(predictions, given, true)
    assert scores["noisy_dice_given"] == pytest.approx((24 / 26 + 12 / 16) / 2)
    assert scores["noisy_dice_true"] == pytest.approx((20 / 22 + 1) / 2)
    assert scores["flipped_fit_given"] == pytest.approx(2 / 8)  # of 8 flipped pixels, 2 follow the noise
    empty = memorisation_scores(predictions[:0], given[:0], true[:0])
    assert empty == {"noisy_dice_given": None, "noisy_dice_true": None, "flipped_fit_given": None}


# ----------------------------------------------------------------------------- model and flips
def test_unet_shapes_layouts_and_size_check():
    torch.manual_seed(0)
    model = UNet(base_width=4, levels=4).eval()
    for height, width in ((48, 64), (96, 128)):
        x = torch.randn(2, 3, height, width)
        out = model(x)
        assert out.shape == (2, 2, height, width)
        last = model.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
        torch.testing.assert_close(last, out, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="divisible by 16, got \\(40, 64\\)"):
        model(torch.randn(1, 3, 40, 64))
    # levels 1, width 2: blocks 3->2->2 (102), 2->4->4 (240), up 4->2 (34), merge 4->2->2 (120), head (6)
    assert sum(p.numel() for p in UNet(base_width=2, levels=1).parameters()) == 502


def test_flips_move_images_and_masks_together():
    images = torch.randint(0, 255, (64, 3, 4, 6), dtype=torch.uint8)
    masks = images[:, 0] > 127
    flipped, flipped_masks = flip_batch(images, masks, torch.Generator().manual_seed(1))
    assert torch.equal(flipped_masks, flipped[:, 0] > 127)
    again, _ = flip_batch(images, masks, torch.Generator().manual_seed(1))
    assert torch.equal(flipped, again)
    kinds = {next(k for k, op in enumerate((lambda t: t, lambda t: t.flip(-1), lambda t: t.flip(-2),
                                            lambda t: t.flip(-1, -2))) if torch.equal(op(image), out))
             for image, out in zip(images, flipped)}
    assert kinds == {0, 1, 2, 3}


# ----------------------------------------------------------------------------- configs and grids
def test_config_resolution_and_key():
    ce = SegmentationConfig("CE", noise="boundary:0.50:8").resolved()
    assert ce["loss"] == "ce" and ce["noise"] == "boundary:0.5:1-8" and ce["weight_decay"] == 1e-4
    assert ce["size"] == [256, 192] and ce["dataset"] == "isic2017" and ce["model"] == "unet"
    anl = SegmentationConfig("ANL-CE").resolved()
    assert anl["weight_decay"] == 0.0 and anl["loss_preset"] == "cifar10"
    assert losses.build("anl_ce", anl["loss_preset"]).l1 == 5e-5
    same = SegmentationConfig("ce", noise="boundary:0.5:1-8", size=(256, 192))
    assert same.key == SegmentationConfig("CE", noise="boundary:0.50:8").key
    others = [SegmentationConfig("ce", noise="boundary:0.5:1-8", seed=2),
              SegmentationConfig("ce", noise="boundary:0.5:1-8", size=(128, 96)),
              SegmentationConfig("ce", noise="boundary:0.5:1-8", loss_overrides={"delta": 1e-6})]
    assert len({same.key, *(config.key for config in others)}) == 4


def test_a_missing_precision_means_fp32_on_every_device_and_bf16_is_named():
    default = SegmentationConfig("ce")
    assert "precision" not in default.resolved()  # the key every stored segmentation run has
    assert SegmentationConfig("ce", precision="fp32").key == default.key
    bf16 = SegmentationConfig("ce", precision="bf16")
    assert bf16.resolved()["precision"] == "bf16" and bf16.key != default.key


@pytest.mark.parametrize("config, message", [
    (SegmentationConfig("focal_dice"), "unknown loss 'focal_dice'"),
    (SegmentationConfig("ce", noise="sym:0.4"), "unknown mask noise kind 'sym'"),
    (SegmentationConfig("ce", size=(120, 96)), "invalid size=(120, 96): must be (width, height), both multiples"),
    (SegmentationConfig("ce", size=(64, 48), levels=5), "multiples of 2**levels = 32"),
    (SegmentationConfig("ce", epochs=0), "invalid epochs=0"),
    (SegmentationConfig("ce", lr=0.0), "invalid lr=0.0"),
    (SegmentationConfig("ce", train_subset=0), "invalid train_subset=0"),
    (SegmentationConfig("ce", dataset="isic2018"), "unknown segmentation dataset 'isic2018'"),
    (SegmentationConfig("gce", loss_overrides={"alpha": 1.0}), "unknown hyperparameter 'alpha' for gce"),
    (SegmentationConfig("ce", precision="fp16"), "invalid precision='fp16': choose one of fp32, bf16"),
])
def test_config_errors(config, message):
    with pytest.raises(ValueError) as error:
        config.resolved()
    assert message in str(error.value)


def test_grids():
    reduced, full = grid("isic-reduced"), grid("isic-full")
    assert len(reduced) == len(full) == 5 * 5 * 2
    assert {config.loss for config in reduced} == {"ce", "dice", "gce", "nce_rce", "anl_ce"}
    assert {tuple(config.size) for config in reduced} == {(64, 48)} and {tuple(c.size) for c in full} == {(256, 192)}
    kinds = {parse_mask_noise(config.noise).kind for config in reduced}
    assert kinds == {"clean", "boundary", "shift"}
    assert [config.seed for config in reduced[:25]] == [1] * 25
    assert len({config.key for config in reduced + full}) == 100
    half = grid("isic-half")
    assert [(c.loss, c.noise) for c in half[:3]] == [("ce", "clean"), ("dice", "clean"), ("anl_ce", "clean")]
    assert len(half) == 9 and {c.seed for c in half} == {1}
    assert {(tuple(c.size), c.base_width, c.epochs) for c in half} == {((128, 96), 8, 20)}
    reduced_twins = {(c.loss, c.noise, c.seed): c for c in reduced}
    for config in half:  # the same run as isic-reduced's but for the training size
        twin = reduced_twins[(config.loss, config.noise, config.seed)]
        assert dataclasses.replace(twin, size=(128, 96)) == config
    with pytest.raises(ValueError, match="unknown grid 'isic'; choose one of mnist-reduced, "):
        grid("isic")


def test_segmentation_protocol():
    assert segmentation_protocol("half") == {"size": (128, 96), "base_width": 8, "epochs": 20}
    settings = segmentation_protocol("reduced")
    settings["epochs"] = 1  # a copy: the protocol itself is not changed
    assert segmentation_protocol("reduced")["epochs"] == 20
    with pytest.raises(ValueError, match="unknown segmentation protocol 'tiny'; choose one of full, half, reduced"):
        segmentation_protocol("tiny")


# ----------------------------------------------------------------------------- training (synthetic)
def synthetic_sets(counts=(16, 4, 4), seed=0) -> tuple[SegmentationDataset, SegmentationDataset]:
    """Dark elliptical lesions on light skin at 256x192, and the same at 32x24."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:192, 0:256]
    splits = {}
    for split, count in zip(("train", "validation", "test"), counts):
        masks = np.zeros((count, 192, 256), bool)
        for mask in masks:
            cy, cx, ry, rx = rng.uniform(50, 140), rng.uniform(60, 190), rng.uniform(20, 45), rng.uniform(25, 60)
            mask[...] = ((ys - cy) / ry) ** 2 + ((xs - cx) / rx) ** 2 <= 1
        noise = rng.integers(0, 30, (count, 3, 192, 256))
        images = np.where(masks[:, None], 70, 200) + noise
        splits[f"{split}_images"] = torch.from_numpy(images.astype(np.uint8))
        splits[f"{split}_masks"] = torch.from_numpy(masks)
    native = SegmentationDataset(name="isic2017", **splits, mean=(0.6,) * 3, std=(0.25,) * 3, source="synthetic")
    return native, resized(native, (32, 24))


def resized(native: SegmentationDataset, size) -> SegmentationDataset:
    tensors = {}
    for split in ("train", "validation", "test"):
        images, masks = native.split(split)
        tensors[f"{split}_images"], tensors[f"{split}_masks"] = resize_images(images, size), resize_masks(masks, size)
    return SegmentationDataset(name=native.name, **tensors, mean=native.mean, std=native.std,
                               source=f"{native.source} at {size[0]}x{size[1]}")


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_sets()


TINY = dict(epochs=2, size=(32, 24), base_width=4, levels=2, batch_size=8, train_eval_size=0)


def test_record_round_trips_and_stored_runs_are_not_retrained(synthetic, tmp_path, monkeypatch):
    store = ResultsStore(tmp_path / "results")
    config = SegmentationConfig("anl_ce", noise="boundary:0.5:4-8", **TINY)
    seen = []
    record = train_segmentation(config, store, datasets=synthetic, device="cpu", progress=False,
                                on_epoch_end=lambda epoch, metrics: seen.append(epoch))
    assert seen == [1, 2] and store.has(config.key) and record["key"] == config.key
    assert not (tmp_path / "results" / "checkpoints" / f"{config.key}.pt").exists()
    assert json.loads(store.path(config.key).read_text()) == json.loads(json.dumps(record))
    noise = record["noise"]
    assert noise["spec"] == "boundary:0.5:4-8" and noise["rate"] == 0.5 and noise["noisy_masks"] == 8
    assert 0 < noise["pixel_flip_fraction"] < noise["pixel_flip_fraction_noisy"] and 0 < noise["dice"] < 1
    assert noise["native_256x192"]["noisy_masks"] == 8
    epoch = record["epochs"][-1]
    for name in ("test_dice", "test_jaccard", "test_thresholded_jaccard", "val_dice", "noisy_dice_given",
                 "noisy_dice_true", "flipped_fit_given"):
        assert 0 <= epoch[name] <= 1, name
    summary = record["summary"]
    assert summary["final_test_dice"] == epoch["test_dice"] and 1 <= summary["best_val_epoch"] <= 2
    best = record["epochs"][summary["best_val_epoch"] - 1]
    assert summary["best_val_test_dice"] == best["test_dice"]
    assert np.mean(record["per_image"]["dice"]) == pytest.approx(epoch["test_dice"], abs=1e-4)
    assert record["loss_hparams"]["delta"] == 5e-5 and record["config"]["weight_decay"] == 0.0
    assert record["provenance"]["amp_bf16"] is False  # no precision named: fp32, whatever the device
    examples = example_predictions(record)
    assert list(examples) == [0, 1, 2, 3] and all(mask.shape == (96, 128) for mask in examples.values())
    assert record["provenance"]["device"] == "cpu" and record["provenance"]["wall_time_s"] > 0

    rows, summaries = load_results(store.root), load_summaries(store.root)
    assert len(rows) == 2 and list(rows["epoch"]) == [1, 2] and set(rows["loss"]) == {"anl_ce"}
    assert summaries.loc[0, "final_test_dice"] == summary["final_test_dice"]
    assert summaries.loc[0, "noise_rate"] == 0.5 and summaries.loc[0, "loss_delta"] == 5e-5

    monkeypatch.setattr(segmentation, "train_epoch", lambda *args: (_ for _ in ()).throw(AssertionError("retrained")))
    assert train_segmentation(config, store, datasets=synthetic, device="cpu", progress=False) == record


def test_a_bf16_config_trains_under_bf16_autocast_and_records_it(synthetic):
    record = train_segmentation(SegmentationConfig("ce", precision="bf16", **TINY), None, datasets=synthetic,
                                device="cpu", progress=False)
    assert record["config"]["precision"] == "bf16" and record["provenance"]["amp_bf16"] is True


def test_resume_is_bit_identical(synthetic, tmp_path):
    config = SegmentationConfig("gce", noise="shift:0.5:4", seed=3, **TINY)
    straight = train_segmentation(config, device="cpu", datasets=synthetic, progress=False)

    def stop_after_first(epoch, metrics):
        if epoch == 1:
            raise KeyboardInterrupt

    store = ResultsStore(tmp_path / "results")
    with pytest.raises(KeyboardInterrupt):
        train_segmentation(config, store, device="cpu", datasets=synthetic, progress=False,
                           on_epoch_end=stop_after_first)
    assert (tmp_path / "results" / "checkpoints" / f"{config.key}.pt").exists()
    resumed = train_segmentation(config, store, device="cpu", datasets=synthetic, progress=False)

    def without_timings(epochs):
        return [{k: v for k, v in epoch.items() if k not in TIMING_FIELDS} for epoch in epochs]

    assert without_timings(resumed["epochs"]) == without_timings(straight["epochs"])
    assert resumed["per_image"] == straight["per_image"] and resumed["examples"] == straight["examples"]


def test_datasets_must_match_the_run(synthetic):
    with pytest.raises(ValueError, match="given for a run at \\(128, 96\\)"):
        train_segmentation(SegmentationConfig("ce", **{**TINY, "size": (128, 96)}), datasets=synthetic,
                           device="cpu", progress=False)


# ----------------------------------------------------------------------------- command line
def main(argv: list[str]) -> int:
    """``python -m anl segment ARGV``."""
    return cli.main(["segment", *argv])


@pytest.mark.parametrize("argv, message", [
    (["run", "--loss", "nope"], "unknown loss 'nope'"),
    (["run", "--loss", "ce", "--noise", "boundary:2:3"], "must lie in [0, 1]"),
    (["run", "--loss", "ce", "--size", "100x96"], "invalid size=(100, 96)"),
    (["run", "--loss", "ce", "--set", "delta"], "is not NAME=NUMBER"),
    (["run", "--loss", "ce", "--threads", "0"], "--threads must be >= 1"),
    (["sweep"], "give --grid (one of mnist-reduced, "),
    (["sweep", "--grid", "nope"], "unknown grid 'nope'"),
    (["sweep", "--grid", "mnist-reduced"], "grid 'mnist-reduced' is a classification grid; train it with python -m anl sweep"),
    (["noise", "--noise", "coarse:1:circle"], "one of polygon, ellipse"),
])
def test_command_line_errors_are_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1 and error.startswith(f"python -m anl segment {argv[0]}: error")


def test_command_line_missing_data_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANL_DATA", str(tmp_path))
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--loss", "ce", "--epochs", "1", "--results", str(tmp_path / "results")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "ISIC 2017 Part 1 (lesion segmentation) not found" in error


def test_command_line_run_and_sweep(synthetic, tmp_path, monkeypatch, capsys):
    native = synthetic[0]
    monkeypatch.setattr(segmentation, "load_run_data", lambda size: (native, resized(native, size)))
    results = str(tmp_path / "results")
    common = ["--size", "64x48", "--epochs", "1", "--base-width", "4", "--results", results, "--no-progress",
              "--device", "cpu", "--threads", "1"]
    assert main(["run", "--loss", "dice", "--noise", "coarse:0.5:ellipse", "--seed", "2", *common]) == 0
    assert main(["sweep", "--losses", "dice,ce", "--noise", "coarse:0.5:ellipse", "--seeds", "2", *common]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[0] == lines[1]  # the sweep found the dice run already recorded
    assert "dice" in lines[0] and "coarse:0.5:ellipse" in lines[0] and "test Dice" in lines[0]
    summaries = load_summaries(results)
    assert sorted(summaries["loss"]) == ["ce", "dice"] and set(summaries["size"].map(tuple)) == {(64, 48)}


# ----------------------------------------------------------------------------- real data (conftest: isic)
@pytest.mark.slow
@pytest.mark.realdata
def test_tiny_real_run_learns_and_round_trips(isic, tmp_path):
    """200 training images at 64x48, 3 epochs: test Dice beats predicting all lesion (the better
    trivial mask; all background scores 0) on the 100 test images scored."""
    tensors = {}
    for split, count in (("train", 200), ("validation", 30), ("test", 100)):
        images, masks = isic.split(split)
        tensors[f"{split}_images"], tensors[f"{split}_masks"] = images[:count].contiguous(), masks[:count]
    native = SegmentationDataset(name="isic2017", **tensors, mean=isic.mean, std=isic.std, source=isic.source)
    store = ResultsStore(tmp_path / "results")
    config = SegmentationConfig("ce", epochs=3, size=(64, 48), base_width=8, train_eval_size=0)
    record = train_segmentation(config, store, datasets=(native, resized(native, (64, 48))), device="cpu",
                                progress=False)
    lesion = native.test_masks.flatten(1).double().sum(1)
    all_lesion = (2 * lesion / (lesion + native.test_masks[0].numel())).mean().item()
    assert record["summary"]["final_test_dice"] > all_lesion + 0.05
    assert record["noise"]["rate"] == 0 and record["epochs"][-1]["noisy_dice_given"] is None
    assert load_summaries(store.root).loc[0, "final_test_dice"] == record["summary"]["final_test_dice"]


@pytest.mark.realdata
def test_noise_command_on_real_masks(isic, capsys):
    assert main(["noise", "--noise", "shift:0.5:8-16", "--seed", "1"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["noisy_masks"] == 1000 and shown["train_size"] == 2000 and 0.5 < shown["dice"] < 0.95
