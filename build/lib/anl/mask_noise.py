"""Simulated annotation noise on binary segmentation masks (N, H, W). A spec is one of::

  "clean"
  "boundary:F:R"          dilation or erosion by a Euclidean disc, direction and radius drawn per mask
  "coarse:F:polygon"      the mask replaced by its convex hull
  "coarse:F:ellipse"      the mask replaced by the ellipse with its centroid and second moments
  "shift:F:R"             the mask translated by an integer vector of length in R

F in [0, 1] is the fraction of masks made noisy (floor(F N) masks, picked uniformly); R is "B"
(meaning 1-B) or "A-B", integers 1 <= A <= B, in pixels of the masks the noise is applied to.

Every generator returns a :class:`NoisyMasks` that keeps the clean masks beside the noisy ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MASK_NOISE_KINDS = ("clean", "boundary", "coarse", "shift")
COARSE_SHAPES = ("polygon", "ellipse")
_COUNT_GUARD = 1e-9  # floor(F N) would turn a product like 0.2 * 5 = 0.9999999999999999 into 0
_MASK_EXAMPLES = "clean, boundary:0.5:4-8, coarse:0.5:ellipse, coarse:1:polygon, shift:0.5:8"


@dataclass(frozen=True)
class MaskNoiseSpec:
    """A parsed mask-noise spec; ``spec`` is its canonical spelling (used as the run's noise)."""

    kind: str
    fraction: float = 0.0
    low: int = 0  # pixel range of boundary radii and shift lengths
    high: int = 0
    shape: str = ""  # coarse: "polygon" or "ellipse"

    @property
    def spec(self) -> str:
        if self.kind == "clean":
            return "clean"
        detail = self.shape if self.kind == "coarse" else f"{self.low}-{self.high}"
        return f"{self.kind}:{self.fraction:g}:{detail}"


@dataclass(frozen=True, eq=False)
class NoisyMasks:
    """Clean and noisy training masks (bool, (N, H, W)) and which masks were picked for noise.

    Realised amounts: ``rate`` (fraction of masks picked), ``pixel_flip_fraction`` (pixels with
    noisy != clean over all pixels of all masks), ``pixel_flip_fraction_noisy`` (the same over the
    picked masks only) and ``dice`` (mean Dice of noisy against clean over the picked masks);
    the last two are None when no mask was picked.
    """

    clean: np.ndarray
    noisy: np.ndarray
    is_noisy: np.ndarray
    spec: str

    @property
    def rate(self) -> float:
        return float(self.is_noisy.mean()) if self.is_noisy.size else 0.0

    @property
    def pixel_flip_fraction(self) -> float:
        return float((self.noisy != self.clean).mean()) if self.clean.size else 0.0

    @property
    def pixel_flip_fraction_noisy(self) -> float | None:
        if not self.is_noisy.any():
            return None
        return float((self.noisy[self.is_noisy] != self.clean[self.is_noisy]).mean())

    @property
    def dice(self) -> float | None:
        if not self.is_noisy.any():
            return None
        return float(mask_dice(self.noisy[self.is_noisy], self.clean[self.is_noisy]).mean())

    def summary(self) -> dict[str, float | int | str | None]:
        """The realised amounts, for run records."""
        return {"spec": self.spec, "rate": self.rate, "train_size": len(self.clean),
                "noisy_masks": int(self.is_noisy.sum()), "pixel_flip_fraction": self.pixel_flip_fraction,
                "pixel_flip_fraction_noisy": self.pixel_flip_fraction_noisy, "dice": self.dice}

    def subset(self, index: np.ndarray) -> NoisyMasks:
        return NoisyMasks(self.clean[index], self.noisy[index], self.is_noisy[index], self.spec)


def _pixel_range(text: str, spec: str) -> tuple[int, int]:
    low_text, dash, high_text = text.partition("-")
    if not dash:
        low_text, high_text = "1", low_text
    try:
        low, high = int(low_text), int(high_text)
    except ValueError:
        raise ValueError(f"pixel range in {spec!r} must be B or A-B with integers, got {text!r}") from None
    if not 1 <= low <= high:
        raise ValueError(f"pixel range in {spec!r} must satisfy 1 <= A <= B, got {text!r}")
    return low, high


def parse_mask_noise(spec: str) -> MaskNoiseSpec:
    """Parse a mask-noise spec (grammar in the module docstring), e.g. "boundary:0.5:4-8" ->
    MaskNoiseSpec("boundary", 0.5, 4, 8); "shift:1:6" means lengths 1-6."""
    parts = str(spec).strip().split(":")
    kind = parts[0]
    if kind not in MASK_NOISE_KINDS:
        raise ValueError(f"unknown mask noise kind {kind!r} in {spec!r}; choose one of "
                         f"{', '.join(MASK_NOISE_KINDS)} (e.g. {_MASK_EXAMPLES})")
    if kind == "clean":
        if len(parts) != 1:
            raise ValueError(f"mask noise 'clean' takes no parameter, got {spec!r}")
        return MaskNoiseSpec("clean")
    if len(parts) != 3:
        detail = "polygon|ellipse" if kind == "coarse" else "R"
        raise ValueError(f"mask noise {spec!r} must read {kind}:F:{detail} (e.g. {_MASK_EXAMPLES})")
    try:
        fraction = float(parts[1])
    except ValueError:
        raise ValueError(f"fraction of noisy masks in {spec!r} is not a number: {parts[1]!r}") from None
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction of noisy masks in {spec!r} must lie in [0, 1], got {parts[1]}")
    if kind == "coarse":
        if parts[2] not in COARSE_SHAPES:
            raise ValueError(f"coarse shape in {spec!r} must be one of {', '.join(COARSE_SHAPES)}, got {parts[2]!r}")
        return MaskNoiseSpec(kind, fraction, shape=parts[2])
    low, high = _pixel_range(parts[2], spec)
    return MaskNoiseSpec(kind, fraction, low, high)


def _check_masks(masks) -> np.ndarray:
    """A bool copy of (N, H, W) or (H, W) masks given as bool or 0/1 integers."""
    array = np.asarray(masks)
    if array.ndim not in (2, 3):
        raise ValueError(f"masks must have shape (N, H, W) or (H, W), got {array.shape}")
    if array.dtype != bool:
        if not np.issubdtype(array.dtype, np.integer) or (array.size and not np.isin(array, (0, 1)).all()):
            raise ValueError(f"masks must be bool or 0/1 integers, got dtype {array.dtype}")
    return array.astype(bool, copy=True)


def _check_radius(radius: int) -> int:
    if isinstance(radius, bool) or int(radius) != radius or radius < 0:
        raise ValueError(f"radius must be an integer >= 0, got {radius!r}")
    return int(radius)


def mask_dice(a, b) -> np.ndarray:
    """Dice ``2 |a & b| / (|a| + |b|)`` per mask of (..., H, W) boolean masks; 1 where both are empty."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if a.shape != b.shape or a.ndim < 2:
        raise ValueError(f"masks must have equal shapes (..., H, W), got {a.shape} and {b.shape}")
    overlap = (a & b).sum(axis=(-2, -1), dtype=np.float64)
    total = a.sum(axis=(-2, -1), dtype=np.float64) + b.sum(axis=(-2, -1), dtype=np.float64)
    return np.divide(2.0 * overlap, total, out=np.ones_like(total), where=total > 0)


def shift_masks(masks, dy: int, dx: int) -> np.ndarray:
    """Masks translated by dy rows and dx columns; what leaves the image is lost, what enters is
    background."""
    masks = _check_masks(masks)
    height, width = masks.shape[-2:]
    out = np.zeros_like(masks)
    if abs(dy) < height and abs(dx) < width:
        out[..., max(dy, 0):height + min(dy, 0), max(dx, 0):width + min(dx, 0)] = \
            masks[..., max(-dy, 0):height + min(-dy, 0), max(-dx, 0):width + min(-dx, 0)]
    return out


def dilate(masks, radius: int) -> np.ndarray:
    """Dilation by the Euclidean disc {(dy, dx): dy^2 + dx^2 <= radius^2}; outside the image is
    background. Computed as the union over dy of row shifts of a horizontal dilation by
    floor(sqrt(radius^2 - dy^2)) (linear in the radius)."""
    masks, radius = _check_masks(masks), _check_radius(radius)
    out = masks.copy()
    horizontal, width = masks.copy(), 0
    for dy in range(radius, -1, -1):  # the half-width grows as |dy| shrinks
        target = math.isqrt(radius * radius - dy * dy)
        while width < target:
            grown = horizontal.copy()
            grown[..., 1:] |= horizontal[..., :-1]
            grown[..., :-1] |= horizontal[..., 1:]
            horizontal, width = grown, width + 1
        out |= shift_masks(horizontal, dy, 0)
        if dy:
            out |= shift_masks(horizontal, -dy, 0)
    return out


def erode(masks, radius: int) -> np.ndarray:
    """Erosion by the same disc, not dilate(~masks): outside the image counts as lesion, so a
    lesion cut by the image border is not eroded from the border."""
    return ~dilate(~_check_masks(masks), radius)


def _turn(origin: tuple[int, int], first: tuple[int, int], second: tuple[int, int]) -> int:
    """z of (first - origin) x (second - origin): > 0 for a left (counter-clockwise) turn."""
    return (first[0] - origin[0]) * (second[1] - origin[1]) - (first[1] - origin[1]) * (second[0] - origin[0])


def _hull(points: np.ndarray) -> np.ndarray:
    """Convex hull (counter-clockwise, Andrew's monotone chain) of integer (x, y) points."""
    ordered = sorted(set(map(tuple, points.tolist())))
    if len(ordered) < 3:
        return np.array(ordered, dtype=np.int64)

    def half(sequence: list[tuple[int, int]]) -> list[tuple[int, int]]:
        chain: list[tuple[int, int]] = []
        for point in sequence:
            while len(chain) >= 2 and _turn(chain[-2], chain[-1], point) <= 0:
                chain.pop()
            chain.append(point)
        return chain

    lower, upper = half(ordered), half(ordered[::-1])
    return np.array(lower[:-1] + upper[:-1], dtype=np.int64)


def convex_hull_mask(mask) -> np.ndarray:
    """The pixels whose centres lie in the convex hull of the (H, W) mask's pixel centres (exact
    integer arithmetic); a superset of the mask, and its own hull."""
    mask = _check_masks(mask)
    if mask.ndim != 2:
        raise ValueError(f"convex_hull_mask takes one (H, W) mask, got shape {mask.shape}")
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return mask
    left = mask[rows].argmax(axis=1)
    right = mask.shape[1] - 1 - mask[rows, ::-1].argmax(axis=1)
    points = np.concatenate([np.stack([left, rows], 1), np.stack([right, rows], 1)]).astype(np.int64)
    vertices = _hull(points)
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    ys, xs = np.mgrid[y0:y1 + 1, x0:x1 + 1]
    inside = np.ones(ys.shape, dtype=bool)
    edges = zip(vertices, np.roll(vertices, -1, axis=0)) if len(vertices) > 1 else ()
    for start, end in edges:  # left of (or on) every counter-clockwise edge
        edge_x, edge_y = end - start
        inside &= edge_x * (ys - start[1]) - edge_y * (xs - start[0]) >= 0
    out = np.zeros_like(mask)
    out[y0:y1 + 1, x0:x1 + 1] = inside
    return out


def ellipse_mask(mask) -> np.ndarray:
    """The pixels inside the ellipse with the (H, W) mask's centroid mu and second moments:
    (p - mu)^T S^-1 (p - mu) <= 4, S = covariance of the pixel centres + I/12 (each pixel a unit
    square), so an elliptical mask maps to itself and the area is about preserved."""
    mask = _check_masks(mask)
    if mask.ndim != 2:
        raise ValueError(f"ellipse_mask takes one (H, W) mask, got shape {mask.shape}")
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return mask
    centre_y, centre_x = ys.mean(), xs.mean()
    offsets = np.stack([ys - centre_y, xs - centre_x], 1)
    (a, b), (_, c) = np.linalg.inv(offsets.T @ offsets / ys.size + np.eye(2) / 12.0)
    dy = np.arange(mask.shape[0])[:, None] - centre_y
    dx = np.arange(mask.shape[1])[None, :] - centre_x
    return a * dy**2 + 2 * b * dy * dx + c * dx**2 <= 4.0


def _shift_vectors(low: int, high: int) -> np.ndarray:
    """Every integer (dy, dx) with low <= sqrt(dy^2 + dx^2) <= high, in row-major order."""
    dy, dx = np.mgrid[-high:high + 1, -high:high + 1]
    length2 = dy**2 + dx**2
    keep = (length2 >= low * low) & (length2 <= high * high)
    return np.stack([dy[keep], dx[keep]], 1)


def apply_mask_noise(spec: str, masks, seed: int) -> NoisyMasks:
    """Apply mask noise ``spec`` (see parse_mask_noise) to clean masks (N, H, W), deterministic in
    ``seed``. With rng = np.random.default_rng(seed): the first floor(F N) indices of
    rng.permutation(N) are the noisy masks; then, for them in index order,
    boundary: dilate if rng.random() < 0.5 else erode, by a radius rng.integers(A, B + 1)
    (uniform on A..B; all directions drawn first, then all radii);
    shift: a vector drawn uniformly (rng.integers) from the integer vectors of length in [A, B];
    coarse: no draw. Erosion can empty a small mask; the realised amounts record what happened."""
    parsed = parse_mask_noise(spec)
    clean = _check_masks(masks)
    if clean.ndim != 3:
        raise ValueError(f"masks must have shape (N, H, W), got {clean.shape}")
    rng = np.random.default_rng(seed)
    count = int(np.floor(parsed.fraction * len(clean) + _COUNT_GUARD))
    chosen = np.sort(rng.permutation(len(clean))[:count])
    is_noisy = np.zeros(len(clean), dtype=bool)
    is_noisy[chosen] = True
    noisy = clean.copy()
    if parsed.kind == "boundary":
        grow = rng.random(count) < 0.5
        radii = rng.integers(parsed.low, parsed.high + 1, size=count)
        for direction, radius in sorted(set(zip(grow.tolist(), radii.tolist()))):
            group = chosen[(grow == direction) & (radii == radius)]
            noisy[group] = (dilate if direction else erode)(clean[group], radius)
    elif parsed.kind == "shift":
        vectors = _shift_vectors(parsed.low, parsed.high)
        for index, (dy, dx) in zip(chosen, vectors[rng.integers(len(vectors), size=count)]):
            noisy[index] = shift_masks(clean[index], int(dy), int(dx))
    elif parsed.kind == "coarse":
        fit = convex_hull_mask if parsed.shape == "polygon" else ellipse_mask
        for index in chosen:
            noisy[index] = fit(clean[index])
    return NoisyMasks(clean=clean, noisy=noisy, is_noisy=is_noisy, spec=parsed.spec)
