"""Mask noise (anl.mask_noise): the spec grammar, morphology against brute-force
references, shifts, convex-hull and ellipse fits, the exact count of noisy masks, the documented
draw order, determinism and the realised amounts on hand-computed toy masks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from anl.mask_noise import (
    MaskNoiseSpec, NoisyMasks, apply_mask_noise, convex_hull_mask, dilate, ellipse_mask, erode, mask_dice,
    parse_mask_noise, shift_masks,
)


# ----------------------------------------------------------------------------- references
def disc(radius: int) -> list[tuple[int, int]]:
    return [(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)
            if dy * dy + dx * dx <= radius * radius]


def ref_dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Pixel p is set iff some p + d (d in the disc, inside the image) is set."""
    height, width = mask.shape
    out = np.zeros_like(mask)
    for y in range(height):
        for x in range(width):
            out[y, x] = any(0 <= y + dy < height and 0 <= x + dx < width and mask[y + dy, x + dx]
                            for dy, dx in disc(radius))
    return out


def ref_erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """Pixel p stays iff every p + d inside the image is set (outside counts as set)."""
    height, width = mask.shape
    out = np.zeros_like(mask)
    for y in range(height):
        for x in range(width):
            out[y, x] = all(not (0 <= y + dy < height and 0 <= x + dx < width) or mask[y + dy, x + dx]
                            for dy, dx in disc(radius))
    return out


def is_digitally_convex(mask: np.ndarray) -> bool:
    """Every row and column is one run, and the mask is its own convex hull."""
    runs_ok = all(np.count_nonzero(np.diff(np.concatenate([[0], line.astype(int), [0]])) == 1) <= 1
                  for line in list(mask) + list(mask.T))
    return runs_ok and np.array_equal(convex_hull_mask(mask), mask)


def blob_masks(count: int = 12, height: int = 40, width: int = 48, seed: int = 0) -> np.ndarray:
    """Random unions of two discs, away from the border."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    masks = np.zeros((count, height, width), dtype=bool)
    for mask in masks:
        for _ in range(2):
            cy, cx, r = rng.integers(14, height - 14), rng.integers(14, width - 14), rng.integers(3, 8)
            mask |= (ys - cy) ** 2 + (xs - cx) ** 2 <= r * r
    return masks


# ----------------------------------------------------------------------------- grammar
@pytest.mark.parametrize("spec, parsed, canonical", [
    ("clean", MaskNoiseSpec("clean"), "clean"),
    ("boundary:0.5:4-8", MaskNoiseSpec("boundary", 0.5, 4, 8), "boundary:0.5:4-8"),
    (" boundary:0.50:8 ", MaskNoiseSpec("boundary", 0.5, 1, 8), "boundary:0.5:1-8"),
    ("shift:1:3-3", MaskNoiseSpec("shift", 1.0, 3, 3), "shift:1:3-3"),
    ("coarse:0.25:polygon", MaskNoiseSpec("coarse", 0.25, shape="polygon"), "coarse:0.25:polygon"),
    ("coarse:0:ellipse", MaskNoiseSpec("coarse", 0.0, shape="ellipse"), "coarse:0:ellipse"),
])
def test_parse_and_canonical_spelling(spec, parsed, canonical):
    assert parse_mask_noise(spec) == parsed
    assert parse_mask_noise(spec).spec == canonical
    assert parse_mask_noise(canonical) == parsed


@pytest.mark.parametrize("spec, message", [
    ("sym:0.4", "unknown mask noise kind 'sym'"),
    ("clean:0.1", "takes no parameter"),
    ("boundary:0.5", "must read boundary:F:R"),
    ("coarse:0.5", "must read coarse:F:polygon|ellipse"),
    ("boundary:half:4", "not a number: 'half'"),
    ("boundary:1.5:4", "must lie in [0, 1]"),
    ("boundary:-0.1:4", "must lie in [0, 1]"),
    ("boundary:0.5:0", "1 <= A <= B"),
    ("shift:0.5:8-4", "1 <= A <= B"),
    ("shift:0.5:2.5", "B or A-B with integers"),
    ("coarse:0.5:circle", "one of polygon, ellipse"),
])
def test_parse_errors(spec, message):
    with pytest.raises(ValueError) as error:
        parse_mask_noise(spec)
    assert message in str(error.value) and "\n" not in str(error.value)


# ----------------------------------------------------------------------------- morphology
@pytest.mark.parametrize("radius", [0, 1, 2, 3, 5])
def test_dilate_and_erode_match_brute_force(radius):
    rng = np.random.default_rng(radius)
    masks = rng.random((3, 13, 17)) < 0.35
    masks[0, :, :6] = True  # a lesion cut by the border
    masks[1] = rng.random((13, 17)) < 0.9
    for mask, grown, shrunk in zip(masks, dilate(masks, radius), erode(masks, radius)):
        np.testing.assert_array_equal(grown, ref_dilate(mask, radius))
        np.testing.assert_array_equal(shrunk, ref_erode(mask, radius))
        assert (grown >= mask).all() and (shrunk <= mask).all()


@pytest.mark.parametrize("radius, count", [(1, 5), (2, 13), (3, 29), (4, 49), (10, 317)])
def test_dilating_one_pixel_gives_the_euclidean_disc(radius, count):
    mask = np.zeros((31, 31), dtype=bool)
    mask[15, 15] = True
    grown = dilate(mask, radius)
    assert grown.sum() == count == len(disc(radius))
    np.testing.assert_array_equal(erode(grown, radius), mask)  # the disc eroded by itself is its centre


def test_erosion_does_not_start_at_the_image_border():
    mask = np.zeros((10, 10), dtype=bool)
    mask[:, :5] = True  # lesion cut by the left border
    shrunk = erode(mask, 2)
    assert shrunk[:, :3].all() and not shrunk[:, 3:].any()


def test_shift_preserves_area_away_from_borders_and_loses_what_leaves():
    mask = np.zeros((20, 30), dtype=bool)
    mask[5:12, 8:20] = True
    moved = shift_masks(mask, 3, -4)
    assert moved.sum() == mask.sum()
    np.testing.assert_array_equal(moved[8:15, 4:16], mask[5:12, 8:20])
    np.testing.assert_array_equal(shift_masks(moved, -3, 4), mask)
    assert shift_masks(mask, 0, 15).sum() == 7 * 7  # columns 23..29 remain of 23..34
    assert not shift_masks(mask, 20, 0).any()


def test_convex_hull_of_an_l_shape_is_the_triangle():
    mask = np.zeros((5, 5), dtype=bool)
    mask[1, 1:4] = mask[1:4, 1] = True  # (row 1, cols 1-3) and (col 1, rows 1-3)
    hull = convex_hull_mask(mask)
    expected = np.zeros_like(mask)
    for y in range(1, 4):
        expected[y, 1:5 - y] = True  # x + y <= 4 inside the corner: 3 + 2 + 1 pixels
    np.testing.assert_array_equal(hull, expected)


def test_coarse_masks_contain_or_approximate_the_mask_and_are_convex():
    for mask in blob_masks():
        hull, ellipse = convex_hull_mask(mask), ellipse_mask(mask)
        assert (hull >= mask).all()
        assert is_digitally_convex(hull) and is_digitally_convex(ellipse)
    empty = np.zeros((6, 7), dtype=bool)
    assert not convex_hull_mask(empty).any() and not ellipse_mask(empty).any()
    single = empty.copy()
    single[2, 3] = True
    np.testing.assert_array_equal(convex_hull_mask(single), single)
    np.testing.assert_array_equal(ellipse_mask(single), single)


def test_ellipse_reproduces_an_ellipse_and_has_the_moment_area():
    ys, xs = np.mgrid[0:60, 0:80]
    ellipse = ((ys - 30.3) / 12) ** 2 + ((xs - 41.6) / 25) ** 2 <= 1
    assert mask_dice(ellipse_mask(ellipse), ellipse) > 0.98
    rectangle = np.zeros((60, 80), dtype=bool)
    rectangle[10:40, 20:70] = True  # a = 50 wide, b = 30 high: semi-axes a / sqrt(3), b / sqrt(3)
    fitted = ellipse_mask(rectangle)
    assert fitted.sum() == pytest.approx(math.pi * 50 * 30 / 3, rel=0.02)
    assert np.argwhere(fitted).mean(axis=0) == pytest.approx([24.5, 44.5], abs=0.05)


def test_mask_dice_by_hand():
    a = np.zeros((2, 3, 3), dtype=bool)
    b = a.copy()
    a[0, 0, :3] = True
    b[0, 0, 1:3] = True
    b[0, 1, 1] = True  # |a| = 3, |b| = 3, overlap 2
    np.testing.assert_allclose(mask_dice(a, b), [4 / 6, 1.0])  # second pair: both empty


# ----------------------------------------------------------------------------- apply
@pytest.mark.parametrize("spec", ["boundary:0.5:1-3", "shift:0.4:2-4", "coarse:0.7:polygon",
                                  "coarse:0.35:ellipse", "boundary:1:2", "shift:0:3"])
def test_exact_count_determinism_and_untouched_clean_masks(spec):
    masks = blob_masks(20)
    fraction = parse_mask_noise(spec).fraction
    first, again, other = (apply_mask_noise(spec, masks, seed) for seed in (3, 3, 4))
    assert first.is_noisy.sum() == math.floor(fraction * 20 + 1e-9)
    np.testing.assert_array_equal(first.noisy, again.noisy)
    np.testing.assert_array_equal(first.is_noisy, again.is_noisy)
    if 0 < fraction < 1:
        assert not np.array_equal(first.is_noisy, other.is_noisy)
    np.testing.assert_array_equal(first.clean, masks)
    np.testing.assert_array_equal(first.noisy[~first.is_noisy], masks[~first.is_noisy])
    assert first.spec == parse_mask_noise(spec).spec and first.rate == first.is_noisy.mean()


def test_each_noisy_mask_is_an_allowed_transformation():
    masks = blob_masks(16)
    boundary = apply_mask_noise("boundary:1:2-3", masks, 0)
    shift = apply_mask_noise("shift:1:2-3", masks, 0)
    hull = apply_mask_noise("coarse:1:polygon", masks, 0)
    ellipse = apply_mask_noise("coarse:1:ellipse", masks, 0)
    vectors = [(dy, dx) for dy in range(-3, 4) for dx in range(-3, 4) if 4 <= dy * dy + dx * dx <= 9]
    for index, mask in enumerate(masks):
        allowed = [op(mask, radius) for op in (dilate, erode) for radius in (2, 3)]
        assert any(np.array_equal(boundary.noisy[index], candidate) for candidate in allowed)
        assert any(np.array_equal(shift.noisy[index], shift_masks(mask, dy, dx)) for dy, dx in vectors)
        np.testing.assert_array_equal(hull.noisy[index], convex_hull_mask(mask))
        np.testing.assert_array_equal(ellipse.noisy[index], ellipse_mask(mask))


def test_boundary_follows_the_documented_draws():
    masks = blob_masks(10)
    noisy = apply_mask_noise("boundary:0.6:1-4", masks, 11)
    rng = np.random.default_rng(11)
    chosen = np.sort(rng.permutation(10)[:6])
    grow = rng.random(6) < 0.5
    radii = rng.integers(1, 5, size=6)
    np.testing.assert_array_equal(np.flatnonzero(noisy.is_noisy), chosen)
    for index, direction, radius in zip(chosen, grow, radii):
        expected = dilate(masks[index], radius) if direction else erode(masks[index], radius)
        np.testing.assert_array_equal(noisy.noisy[index], expected)


def test_clean_spec_changes_nothing():
    masks = blob_masks(5)
    noisy = apply_mask_noise("clean", masks.astype(np.uint8), 1)
    np.testing.assert_array_equal(noisy.noisy, masks)
    assert noisy.rate == 0 and noisy.pixel_flip_fraction == 0
    assert noisy.pixel_flip_fraction_noisy is None and noisy.dice is None


def test_realised_amounts_by_hand():
    clean = np.zeros((2, 4, 4), dtype=bool)
    clean[:, 1:3, 1:3] = True  # 4 pixels each
    noisy = clean.copy()
    noisy[0, 0, 1:3] = True  # mask 0 gains 2 pixels
    result = NoisyMasks(clean=clean, noisy=noisy, is_noisy=np.array([True, False]), spec="custom")
    assert result.rate == 0.5
    assert result.pixel_flip_fraction == 2 / 32
    assert result.pixel_flip_fraction_noisy == 2 / 16
    assert result.dice == pytest.approx(2 * 4 / (4 + 6))
    summary = result.summary()
    assert summary["noisy_masks"] == 1 and summary["train_size"] == 2 and summary["dice"] == result.dice
    part = result.subset(np.array([1]))
    assert part.rate == 0 and part.dice is None


def test_realised_amounts_of_a_dilation():
    clean = np.zeros((1, 9, 9), dtype=bool)
    clean[0, 4, 4] = True
    noisy = apply_mask_noise("boundary:1:1", clean, 0)
    grown = noisy.noisy[0].sum()
    if grown == 5:  # dilated into the 5-pixel disc
        assert noisy.pixel_flip_fraction == 4 / 81 and noisy.dice == pytest.approx(2 / 6)
    else:  # eroded away
        assert grown == 0 and noisy.pixel_flip_fraction == 1 / 81 and noisy.dice == 0


@pytest.mark.parametrize("call, message", [
    (lambda: apply_mask_noise("boundary:0.5:2", np.zeros((4, 4)), 0), "must be bool or 0/1 integers"),
    (lambda: apply_mask_noise("boundary:0.5:2", np.zeros((4, 4), dtype=bool), 0), "must have shape (N, H, W)"),
    (lambda: dilate(np.zeros(4, dtype=bool), 1), "must have shape (N, H, W) or (H, W)"),
    (lambda: dilate(np.zeros((3, 3), dtype=np.int64) + 2, 1), "must be bool or 0/1 integers"),
    (lambda: erode(np.zeros((3, 3), dtype=bool), -1), "radius must be an integer >= 0"),
    (lambda: convex_hull_mask(np.zeros((2, 3, 3), dtype=bool)), "takes one (H, W) mask"),
    (lambda: mask_dice(np.zeros((3, 3)), np.zeros((3, 4))), "equal shapes"),
])
def test_input_errors(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)
