"""Label-noise models (section 4 of anl-method.md): symmetric, asymmetric, pair-flip,
instance-dependent (Xia et al. 2020) and CIFAR-10N human labels.

A transition matrix T has rows = true class, columns = given label, rows summing to 1.
Every generator returns a :class:`NoisyLabels` that keeps the clean labels beside the noisy ones.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from anl.data import CIFAR10N_SOURCE, verify_cifar10n_labels

NOISE_KINDS = ("clean", "sym", "asym", "pairflip", "idn", "cifar10n")
#: Each kind's spec form and meaning, as parse_noise reads it (R: the nominal rate).
NOISE_GRAMMAR: dict[str, tuple[str, str]] = {
    "clean": ("clean", "the given labels"),
    "sym": ("sym:R", "a fraction R of each class moved, in equal counts, to every other class (R < 1)"),
    "asym": ("asym:R", "a fraction R of each class of the data set's class map moved to its image "
                       "(MNIST 7→1, 2→7, 5↔6, 3→8; CIFAR-10 truck→car, bird→plane, cat↔dog, deer→horse)"),
    "pairflip": ("pairflip:R", "a fraction R of class c moved to class c + 1 (mod K)"),
    "idn": ("idn:R", "instance-dependent (Xia et al. 2020): per-image flip rates drawn around R, "
                     "labels drawn from a random projection of the image"),
    "cifar10n": ("cifar10n:NAME", "CIFAR-10N human labels, NAME one of aggre, random1, random2, random3, "
                                  "worst (CIFAR-10 only)"),
}
ASYMMETRIC_DATASETS = ("mnist", "fashion_mnist", "cifar10", "cifar100")
CIFAR10N_COLUMNS = {
    "aggre": "aggre_label",
    "random1": "random_label1",
    "random2": "random_label2",
    "random3": "random_label3",
    "worst": "worse_label",
}

# Asymmetric maps {true class: noisy class}; CIFAR-100 is built in asymmetric_matrix.
_ASYMMETRIC_MAPS = {
    "mnist": {7: 1, 2: 7, 5: 6, 6: 5, 3: 8},
    # T-shirt/top 0, Trouser 1, Pullover 2, Dress 3, Coat 4, Sandal 5, Shirt 6, Sneaker 7, Bag 8,
    # Ankle boot 9
    "fashion_mnist": {6: 0, 0: 6, 2: 4, 5: 7, 9: 7},
    # airplane 0, automobile 1, bird 2, cat 3, deer 4, dog 5, frog 6, horse 7, ship 8, truck 9
    "cifar10": {9: 1, 2: 0, 3: 5, 5: 3, 4: 7},
}
_CIFAR10N_CLASSES = 10
_IDN_FLIP_STD = 0.1
_IDN_CHUNK = 2048
_COUNT_GUARD = 1e-9  # int(T_ij n_i) would turn a product like 0.2 * 5 = 0.9999999999999999 into 0


@dataclass(frozen=True, eq=False)
class NoisyLabels:
    """Clean and noisy training labels with the transition that produced them.

    ``transition`` is the realised matrix: row i is the distribution of given labels among the
    samples of true class i (a zero row for a class with no samples). ``nominal`` is the T that
    was asked for (None for idn and cifar10n).
    """

    clean: np.ndarray
    noisy: np.ndarray
    transition: np.ndarray
    nominal: np.ndarray | None
    spec: str

    @property
    def is_noisy(self) -> np.ndarray:
        """Boolean mask of samples whose given label differs from the true one."""
        return self.noisy != self.clean

    @property
    def rate(self) -> float:
        """Realised noise rate: the fraction of samples with noisy != clean."""
        return float(self.is_noisy.mean()) if self.clean.size else 0.0

    def subset(self, index: np.ndarray) -> NoisyLabels:
        """The labels of the samples at ``index``, with the transition realised on them."""
        return _noisy_labels(self.clean[index], self.noisy[index], len(self.transition), self.nominal, self.spec)


# ----------------------------------------------------------------------------- validation


def _check_rate(kind: str, rate: float, *, upper_inclusive: bool) -> float:
    rate = float(rate)
    inside = 0.0 <= rate <= 1.0 if upper_inclusive else 0.0 <= rate < 1.0
    if not inside:
        interval = "[0, 1]" if upper_inclusive else "[0, 1)"
        raise ValueError(f"{kind} noise rate must lie in {interval}, got {rate}")
    return rate


def _check_labels(labels, num_classes: int) -> np.ndarray:
    """Return a fresh int64 copy of ``labels`` after checking shape, dtype and range."""
    array = np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(f"labels must be a 1-D array, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {array.dtype}")
    array = array.astype(np.int64, copy=True)
    if array.size and (array.min() < 0 or array.max() >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes - 1}] for {num_classes} classes, "
            f"got range [{array.min()}, {array.max()}]"
        )
    return array


def _check_num_classes(num_classes: int) -> int:
    if int(num_classes) != num_classes or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes}")
    return int(num_classes)


def _check_cifar10n_which(which: str) -> str:
    if which not in CIFAR10N_COLUMNS:
        raise ValueError(
            f"unknown CIFAR-10N label set {which!r}; choose one of {tuple(CIFAR10N_COLUMNS)}"
        )
    return which


def _canonical_dataset(dataset: str) -> str:
    name = dataset.lower().replace("-", "_")
    if name not in ASYMMETRIC_DATASETS:
        raise ValueError(
            f"no asymmetric noise map for dataset {dataset!r}; choose one of {ASYMMETRIC_DATASETS}"
        )
    return name


# ----------------------------------------------------------------------------- matrices


def symmetric_matrix(num_classes: int, rate: float) -> np.ndarray:
    """T_ii = 1 - eta, T_ij = eta / (K - 1), eta in [0, 1).

    Noise-tolerance of symmetric losses (Ghosh et al. 2017) needs eta < (K - 1) / K; larger eta
    is accepted (it is a valid matrix) but the theory no longer applies.
    """
    num_classes = _check_num_classes(num_classes)
    rate = _check_rate("sym", rate, upper_inclusive=False)
    matrix = np.full((num_classes, num_classes), rate / (num_classes - 1))
    np.fill_diagonal(matrix, 1.0 - rate)
    return matrix


def asymmetric_matrix(dataset: str, rate: float) -> np.ndarray:
    """Class-conditional flips of section 4, eta in [0, 1]: T_ii = 1 - eta, T_i,m(i) = eta.

    mnist 7->1, 2->7, 5<->6, 3->8; fashion_mnist Shirt<->T-shirt/top, Pullover->Coat,
    Sandal->Sneaker, Ankle boot->Sneaker; cifar10 truck->automobile, bird->airplane, cat<->dog,
    deer->horse; cifar100 i -> 5 floor(i / 5) + (i + 1) mod 5 (circular shift in blocks of 5).
    Classes without a map keep their label.
    """
    name = _canonical_dataset(dataset)
    rate = _check_rate("asym", rate, upper_inclusive=True)
    if name == "cifar100":
        num_classes = 100
        mapping = {i: 5 * (i // 5) + (i + 1) % 5 for i in range(num_classes)}
    else:
        num_classes = 10
        mapping = _ASYMMETRIC_MAPS[name]
    matrix = np.eye(num_classes)
    for source, target in mapping.items():
        matrix[source, source] = 1.0 - rate
        matrix[source, target] = rate
    return matrix


def pairflip_matrix(num_classes: int, rate: float) -> np.ndarray:
    """T_ii = 1 - eta, T_i,(i+1) mod K = eta, eta in [0, 1]."""
    num_classes = _check_num_classes(num_classes)
    rate = _check_rate("pairflip", rate, upper_inclusive=True)
    matrix = np.eye(num_classes) * (1.0 - rate)
    matrix[np.arange(num_classes), (np.arange(num_classes) + 1) % num_classes] += rate
    return matrix


# ----------------------------------------------------------------------------- generators


def _realised_transition(clean: np.ndarray, noisy: np.ndarray, num_classes: int) -> np.ndarray:
    counts = np.zeros((num_classes, num_classes))
    np.add.at(counts, (clean, noisy), 1.0)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def _noisy_labels(
    clean: np.ndarray, noisy: np.ndarray, num_classes: int, nominal: np.ndarray | None, spec: str
) -> NoisyLabels:
    transition = _realised_transition(clean, noisy, num_classes)
    return NoisyLabels(clean=clean, noisy=noisy, transition=transition, nominal=nominal, spec=spec)


def flip_exact(labels, transition: np.ndarray, seed: int, spec: str = "custom") -> NoisyLabels:
    """Flip exact counts: of the n_i samples of true class i, int(T_ij n_i) become j (j != i).

    Classes are visited in order; inside class i one permutation from
    ``np.random.default_rng(seed)`` picks the samples, handed out to j = 0, 1, ... in turn
    (without replacement); the rest keep i. A 1e-9 guard keeps float products such as
    0.2 * 5 = 0.9999999999999999 from losing a count.
    """
    transition = np.asarray(transition, dtype=np.float64)
    if transition.ndim != 2 or transition.shape[0] != transition.shape[1]:
        raise ValueError(f"transition must be a square K x K matrix, got shape {transition.shape}")
    if (transition < 0).any() or not np.allclose(transition.sum(axis=1), 1.0):
        raise ValueError("transition must have non-negative entries and rows summing to 1")
    num_classes = _check_num_classes(transition.shape[0])
    clean = _check_labels(labels, num_classes)
    noisy = clean.copy()
    rng = np.random.default_rng(seed)
    for source in range(num_classes):
        members = np.flatnonzero(clean == source)
        counts = np.floor(transition[source] * members.size + _COUNT_GUARD).astype(np.int64)
        counts[source] = 0
        chosen = rng.permutation(members)[: counts.sum()]
        noisy[chosen] = np.repeat(np.arange(num_classes), counts)
    return _noisy_labels(clean, noisy, num_classes, transition, spec)


def symmetric_noise(labels, num_classes: int, rate: float, seed: int) -> NoisyLabels:
    """Exact-count symmetric noise, T = :func:`symmetric_matrix`."""
    return flip_exact(labels, symmetric_matrix(num_classes, rate), seed, f"sym:{rate:g}")


def asymmetric_noise(labels, dataset: str, rate: float, seed: int) -> NoisyLabels:
    """Exact-count asymmetric noise, T = :func:`asymmetric_matrix`."""
    return flip_exact(labels, asymmetric_matrix(dataset, rate), seed, f"asym:{rate:g}")


def pairflip_noise(labels, num_classes: int, rate: float, seed: int) -> NoisyLabels:
    """Exact-count pair-flip noise, T = :func:`pairflip_matrix`."""
    return flip_exact(labels, pairflip_matrix(num_classes, rate), seed, f"pairflip:{rate:g}")


def _truncated_normal(rng: np.random.Generator, mean: float, std: float, size: int) -> np.ndarray:
    """normal(mean, std) conditioned on [0, 1], by redrawing the values that fall outside."""
    values = rng.normal(mean, std, size)
    outside = np.flatnonzero((values < 0.0) | (values > 1.0))
    while outside.size:
        values[outside] = rng.normal(mean, std, outside.size)
        outside = outside[(values[outside] < 0.0) | (values[outside] > 1.0)]
    return values


def _instance_noise(
    labels, features, num_classes: int, rate: float, seed: int, feature_divisor: float
) -> NoisyLabels:
    """instance_noise on ``features / feature_divisor``, converted chunk by chunk (memory-light)."""
    num_classes = _check_num_classes(num_classes)
    rate = _check_rate("idn", rate, upper_inclusive=True)
    clean = _check_labels(labels, num_classes)
    features = np.asarray(features)
    if features.ndim != 2 or features.shape[0] != clean.size:
        raise ValueError(
            f"features must have shape (N, d) with N = {clean.size} labels, got {features.shape}"
        )
    rng = np.random.default_rng(seed)
    flip_rate = _truncated_normal(rng, rate, _IDN_FLIP_STD, clean.size)
    uniform = rng.random(clean.size)
    noisy = clean.copy()
    for source in range(num_classes):
        projection = rng.standard_normal((features.shape[1], num_classes))
        members = np.flatnonzero(clean == source)
        for start in range(0, members.size, _IDN_CHUNK):
            rows = members[start : start + _IDN_CHUNK]
            scores = (features[rows].astype(np.float64) / feature_divisor) @ projection
            scores[:, source] = -np.inf
            weights = np.exp(scores - scores.max(axis=1, keepdims=True))
            probabilities = weights / weights.sum(axis=1, keepdims=True) * flip_rate[rows, None]
            probabilities[:, source] = 1.0 - flip_rate[rows]
            cumulative = np.cumsum(probabilities, axis=1)
            drawn = (cumulative < uniform[rows, None] * cumulative[:, -1:]).sum(axis=1)
            noisy[rows] = np.minimum(drawn, num_classes - 1)
    return _noisy_labels(clean, noisy, num_classes, None, f"idn:{rate:g}")


def instance_noise(labels, features, num_classes: int, rate: float, seed: int) -> NoisyLabels:
    """Instance-dependent noise, the part-dependent generator of Xia et al. 2020.

    ``features`` (N, d) are the flattened images as floats in [0, 1] (``images.reshape(N, -1) /
    255``). With rng = default_rng(seed): q_i ~ normal(eta, 0.1) truncated to [0, 1];
    W_c ~ standard normal (d x K) per class c; for a sample of class y,
    p = q_i softmax(x_i W_y with entry y set to -inf) and p_y = 1 - q_i; the noisy label is
    drawn from p (inverse CDF of one uniform per sample). Draw order: all q, all uniforms, then
    W_0, W_1, ... P(flip) = q_i, so the realised rate is near E[q]: about eta, 0.08 at eta = 0.
    """
    return _instance_noise(labels, features, num_classes, rate, seed, 1.0)


def cifar10n_noise(labels, which: str, path) -> NoisyLabels:
    """CIFAR-10N human labels joined to the data set's clean training labels.

    Join contract: ``labels`` are the data set's clean CIFAR-10 training labels, and inside each
    class the data set keeps CIFAR-10's original training order (true of the official python
    batches and of the JPEG copy, whose files are numbered per class in that order; class-major
    storage is fine). The file is indexed in original order, so the j-th sample of class c in the
    data set is the j-th index with clean_label == c in the file. Per-class counts must agree.
    Noisy labels come back in the data set's order.
    """
    _check_cifar10n_which(which)
    clean = _check_labels(labels, _CIFAR10N_CLASSES)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"CIFAR-10N labels not found at {path}; get them from {CIFAR10N_SOURCE}"
        )
    import torch

    verify_cifar10n_labels(path)
    table = torch.load(path, weights_only=False)
    missing = {"clean_label", CIFAR10N_COLUMNS[which]} - set(table)
    if missing:
        raise ValueError(f"{path} is not a CIFAR-10N label file: it lacks {sorted(missing)}")
    file_clean = np.asarray(table["clean_label"], dtype=np.int64)
    file_noisy = np.asarray(table[CIFAR10N_COLUMNS[which]], dtype=np.int64)
    ours = np.bincount(clean, minlength=_CIFAR10N_CLASSES)
    theirs = np.bincount(file_clean, minlength=_CIFAR10N_CLASSES)
    if not np.array_equal(ours, theirs):
        raise ValueError(
            f"per-class counts of the labels {ours.tolist()} differ from CIFAR-10N's "
            f"{theirs.tolist()}; pass the full CIFAR-10 training labels"
        )
    noisy = np.empty_like(clean)
    for source in range(_CIFAR10N_CLASSES):
        noisy[clean == source] = file_noisy[file_clean == source]
    return _noisy_labels(clean, noisy, _CIFAR10N_CLASSES, None, f"cifar10n:{which}")


# ----------------------------------------------------------------------------- specs


def parse_noise(spec: str) -> tuple[str, float | str]:
    """Split a spec into (kind, parameter): "clean" -> ("clean", 0.0), "sym:0.6" -> ("sym", 0.6),
    "cifar10n:worst" -> ("cifar10n", "worst"). Rates are range-checked per kind."""
    kind, sep, parameter = spec.strip().partition(":")
    if kind not in NOISE_KINDS:
        raise ValueError(f"unknown noise kind {kind!r} in {spec!r}; choose one of {NOISE_KINDS}")
    if kind == "clean":
        if sep:
            raise ValueError(f"noise spec 'clean' takes no parameter, got {spec!r}")
        return kind, 0.0
    if not parameter:
        example = "cifar10n:worst" if kind == "cifar10n" else f"{kind}:0.4"
        raise ValueError(f"noise spec {spec!r} needs a parameter, e.g. {example!r}")
    if kind == "cifar10n":
        return kind, _check_cifar10n_which(parameter)
    try:
        rate = float(parameter)
    except ValueError:
        raise ValueError(f"noise rate in {spec!r} is not a number: {parameter!r}") from None
    return kind, _check_rate(kind, rate, upper_inclusive=kind != "sym")


def _default_cifar10n_path() -> Path:
    root = os.environ.get("ANL_DATA")
    if not root:
        raise FileNotFoundError(
            f"CIFAR-10N labels: ANL_DATA is not set and no cifar10n_path was given; get the labels "
            f"from {CIFAR10N_SOURCE}"
        )
    candidates = [Path(root) / "cifar-n" / "CIFAR-10_human.pt", Path(root) / "CIFAR-10_human.pt"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(candidate) for candidate in candidates)
    raise FileNotFoundError(
        f"CIFAR-10N labels not found (looked in {looked}); get them from {CIFAR10N_SOURCE}"
    )


def apply_noise(
    spec: str,
    labels,
    *,
    dataset: str,
    num_classes: int,
    seed: int,
    images=None,
    cifar10n_path=None,
) -> NoisyLabels:
    """Apply the noise named by ``spec`` to clean training labels (see :func:`parse_noise`).

    idn needs ``images`` (N, ...) with pixel values in [0, 255]; they are flattened and divided by
    255. cifar10n reads ``cifar10n_path``, else $ANL_DATA/cifar-n/CIFAR-10_human.pt, else
    $ANL_DATA/CIFAR-10_human.pt.
    """
    kind, parameter = parse_noise(spec)
    if kind == "clean":
        num_classes = _check_num_classes(num_classes)
        clean = _check_labels(labels, num_classes)
        return _noisy_labels(clean, clean.copy(), num_classes, np.eye(num_classes), "clean")
    if kind == "sym":
        return symmetric_noise(labels, num_classes, parameter, seed)
    if kind == "asym":
        matrix_classes = asymmetric_matrix(dataset, parameter).shape[0]
        if matrix_classes != num_classes:
            raise ValueError(
                f"asymmetric map for {dataset!r} has {matrix_classes} classes, "
                f"but num_classes={num_classes}"
            )
        return asymmetric_noise(labels, dataset, parameter, seed)
    if kind == "pairflip":
        return pairflip_noise(labels, num_classes, parameter, seed)
    if kind == "idn":
        if images is None:
            raise ValueError("idn noise needs the training images (images=...), got None")
        pixels = np.asarray(images)
        features = pixels.reshape(len(pixels), -1)
        return _instance_noise(labels, features, num_classes, parameter, seed, 255.0)
    path = Path(cifar10n_path) if cifar10n_path is not None else _default_cifar10n_path()
    return cifar10n_noise(labels, parameter, path)


def format_matrix(matrix: np.ndarray, classes: Sequence[str] | None = None, digits: int = 2) -> str:
    """Render a K x K matrix as a text table, rows and columns labelled by class name (or index)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"format_matrix needs a square matrix, got shape {matrix.shape}")
    names = [str(name) for name in (range(len(matrix)) if classes is None else classes)]
    if len(names) != len(matrix):
        raise ValueError(f"got {len(names)} class names for a {len(matrix)} x {len(matrix)} matrix")
    cells = [[f"{value:.{digits}f}" for value in row] for row in matrix]
    width = max(len(text) for text in names + [cell for row in cells for cell in row])
    row_width = max(len(name) for name in names)
    lines = [" " * row_width + "".join(f" {name:>{width}}" for name in names)]
    for name, row in zip(names, cells):
        lines.append(f"{name:<{row_width}}" + "".join(f" {cell:>{width}}" for cell in row))
    return "\n".join(lines)


# ============================================================================ mask noise
# Simulated annotation noise on binary segmentation masks (N, H, W). A spec is one of
#   "clean"
#   "boundary:F:R"          dilation or erosion by a Euclidean disc, direction and radius drawn per mask
#   "coarse:F:polygon"      the mask replaced by its convex hull
#   "coarse:F:ellipse"      the mask replaced by the ellipse with its centroid and second moments
#   "shift:F:R"             the mask translated by an integer vector of length in R
# F in [0, 1] is the fraction of masks made noisy (floor(F N) masks, picked uniformly); R is "B"
# (meaning 1-B) or "A-B", integers 1 <= A <= B, in pixels of the masks the noise is applied to.

MASK_NOISE_KINDS = ("clean", "boundary", "coarse", "shift")
COARSE_SHAPES = ("polygon", "ellipse")
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
    """Parse a mask-noise spec (grammar above), e.g. "boundary:0.5:4-8" ->
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
