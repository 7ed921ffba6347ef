"""Label-noise models (section 4 of anl-method.md): symmetric, asymmetric, pair-flip,
instance-dependent (Xia et al. 2020, on raw or normalised pixels), the fixed instance-dependent
CIFAR-10 labels of the published IDN numbers, and CIFAR-10N human labels (mask noise:
anl.mask_noise); statistics that compare them (top-target share, effective number of targets).

A transition matrix T has rows = true class, columns = given label, rows summing to 1.
Every generator returns a :class:`NoisyLabels` that keeps the clean labels beside the noisy ones.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from anl.data import CIFAR10N_SOURCE, DATASETS, read_cifar10_idn_labels, read_cifar10n_labels

NOISE_KINDS = ("clean", "sym", "asym", "pairflip", "idn", "idn-norm", "idn-file", "cifar10n")
#: Each kind's spec form and meaning, as parse_noise reads it (R: the nominal rate).
NOISE_GRAMMAR: dict[str, tuple[str, str]] = {
    "clean": ("clean", "the given labels"),
    "sym": ("sym:R", "a fraction R of each class moved, in equal counts, to every other class (R < 1)"),
    "asym": ("asym:R", "a fraction R of each class of the data set's class map moved to its image "
                       "(MNIST 7→1, 2→7, 5↔6, 3→8; CIFAR-10 truck→car, bird→plane, cat↔dog, deer→horse)"),
    "pairflip": ("pairflip:R", "a fraction R of class c moved to class c + 1 (mod K)"),
    "idn": ("idn:R", "instance-dependent (Xia et al. 2020): per-image flip rates drawn around R, "
                     "labels drawn from a random projection of the image's raw pixels in [0, 1]"),
    "idn-norm": ("idn-norm:R", "as idn:R, on the image normalised per channel to mean 0 and std 1 "
                               "(flips spread over more classes)"),
    "idn-file": ("idn-file:R", "the fixed instance-dependent labels of the published IDN numbers, "
                               "exactly a fraction R flipped, read from $ANL_DATA/cifar10-idn (CIFAR-10 only)"),
    "cifar10n": ("cifar10n:NAME", "CIFAR-10N human labels, NAME one of aggre, random1, random2, random3, "
                                  "worst (CIFAR-10 only)"),
}
ASYMMETRIC_DATASETS = DATASETS  # every image data set has a class map (CIFAR-100: shifts in blocks of 5)
CIFAR10_ONLY_KINDS = ("idn-file", "cifar10n")  # labels of CIFAR-10's training images, read from files
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
_PIXEL_MAX = 255.0
_COUNT_GUARD = 1e-9  # int(T_ij n_i) would turn a product like 0.2 * 5 = 0.9999999999999999 into 0


@dataclass(frozen=True, eq=False)
class NoisyLabels:
    """Clean and noisy training labels with the transition that produced them.

    ``transition`` is the realised matrix: row i is the distribution of given labels among the
    samples of true class i (a zero row for a class with no samples). ``nominal`` is the T that
    was asked for (None for the instance-dependent kinds and cifar10n).
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
    labels, features, num_classes: int, rate: float, seed: int, offset, scale, kind: str = "idn"
) -> NoisyLabels:
    """instance_noise on ``(features - offset) / scale`` (scalars or one value per feature),
    converted chunk by chunk (memory-light); the result's spec is ``kind:rate``."""
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
            scores = ((features[rows].astype(np.float64) - offset) / scale) @ projection
            scores[:, source] = -np.inf
            weights = np.exp(scores - scores.max(axis=1, keepdims=True))
            probabilities = weights / weights.sum(axis=1, keepdims=True) * flip_rate[rows, None]
            probabilities[:, source] = 1.0 - flip_rate[rows]
            cumulative = np.cumsum(probabilities, axis=1)
            drawn = (cumulative < uniform[rows, None] * cumulative[:, -1:]).sum(axis=1)
            noisy[rows] = np.minimum(drawn, num_classes - 1)
    return _noisy_labels(clean, noisy, num_classes, None, f"{kind}:{rate:g}")


def instance_noise(labels, features, num_classes: int, rate: float, seed: int) -> NoisyLabels:
    """Instance-dependent noise, the part-dependent generator of Xia et al. 2020.

    ``features`` (N, d) are the flattened images as floats in [0, 1] (``images.reshape(N, -1) /
    255``). With rng = default_rng(seed): q_i ~ normal(eta, 0.1) truncated to [0, 1];
    W_c ~ standard normal (d x K) per class c; for a sample of class y,
    p = q_i softmax(x_i W_y with entry y set to -inf) and p_y = 1 - q_i; the noisy label is
    drawn from p (inverse CDF of one uniform per sample). Draw order: all q, all uniforms, then
    W_0, W_1, ... P(flip) = q_i, so the realised rate is near E[q]: about eta, 0.08 at eta = 0.
    Flips are per-sample draws, not exact counts.

    On raw pixels (all positive) x_i W_y is dominated by the class-wide term (mean brightness x
    column sums of W_y), so most flips of a class go to one class; on features centred and scaled
    per channel (``idn-norm:R``, :func:`channel_standardisation`) they spread over many.
    """
    return _instance_noise(labels, features, num_classes, rate, seed, 0.0, 1.0)


def channel_standardisation(images) -> tuple[np.ndarray, np.ndarray]:
    """(offset, scale), one value per feature of ``images`` (N, C, ...) flattened per sample, such
    that (pixels - offset) / scale has mean 0 and standard deviation 1 in every channel over the N
    images (population std; scale 1 for a constant channel). Pixel values stay in their own units."""
    pixels = np.asarray(images)
    if pixels.ndim < 2 or len(pixels) == 0:
        raise ValueError(f"images must have shape (N, C, ...) with N >= 1, got {pixels.shape}")
    channels, per_channel = pixels.shape[1], int(np.prod(pixels.shape[2:], dtype=np.int64))
    sums, squares = np.zeros(channels), np.zeros(channels)
    for start in range(0, len(pixels), _IDN_CHUNK):
        chunk = pixels[start : start + _IDN_CHUNK].reshape(-1, channels, per_channel).astype(np.float64)
        sums += chunk.sum(axis=(0, 2))
        squares += (chunk**2).sum(axis=(0, 2))
    count = len(pixels) * per_channel
    mean = sums / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    std[std == 0] = 1.0
    return np.repeat(mean, per_channel), np.repeat(std, per_channel)


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
    column = CIFAR10N_COLUMNS[which]
    table = read_cifar10n_labels(path, ("clean_label", column))
    noisy = _join_original_order(clean, table["clean_label"], table[column])
    return _noisy_labels(clean, noisy, _CIFAR10N_CLASSES, None, f"cifar10n:{which}")


def _join_original_order(clean: np.ndarray, file_clean: np.ndarray, file_noisy: np.ndarray) -> np.ndarray:
    """Noisy labels indexed in CIFAR-10's original order, moved to the order of ``clean``: the j-th
    sample of class c in ``clean`` takes the j-th entry with file_clean == c."""
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
    return noisy


def fixed_instance_noise(labels, rate: float, cifar10n_path, root=None) -> NoisyLabels:
    """The fixed instance-dependent CIFAR-10 labels at ``rate`` (data.read_cifar10_idn_labels,
    from data_root(root)/cifar10-idn), joined to the data set's clean training labels.

    The file is in CIFAR-10's original training order and holds only noisy labels, so it joins
    through the clean labels of CIFAR-10N's file at ``cifar10n_path`` (``clean_label``, the same
    order) under :func:`cifar10n_noise`'s join contract. Exactly int(rate x 50,000) images are
    flipped (realised 20.00 / 40.00 / 60.00 %); the flips are fixed, no seed enters.
    """
    clean = _check_labels(labels, _CIFAR10N_CLASSES)
    rate = _check_rate("idn-file", rate, upper_inclusive=True)
    file_noisy = read_cifar10_idn_labels(rate, root)
    file_clean = read_cifar10n_labels(cifar10n_path, ("clean_label",))["clean_label"]
    noisy = _join_original_order(clean, file_clean, file_noisy)
    return _noisy_labels(clean, noisy, _CIFAR10N_CLASSES, None, f"idn-file:{rate:g}")


# ----------------------------------------------------------------------------- statistics


def flip_distribution(noise: NoisyLabels | np.ndarray) -> np.ndarray:
    """Per true class i, where its flips go: F_ij = T_ij / sum_{k != i} T_ik for j != i, F_ii = 0.

    ``noise`` is a NoisyLabels (its realised transition, i.e. the clean and noisy labels) or a
    K x K transition matrix. A class without flips gets a row of NaN.
    """
    transition = np.array(noise.transition if isinstance(noise, NoisyLabels) else noise, dtype=np.float64)
    if transition.ndim != 2 or transition.shape[0] != transition.shape[1]:
        raise ValueError(f"transition must be a square K x K matrix, got shape {transition.shape}")
    if (transition < 0).any():
        raise ValueError("transition must have non-negative entries")
    np.fill_diagonal(transition, 0.0)
    flipped = transition.sum(axis=1, keepdims=True)
    return np.divide(transition, flipped, out=np.full_like(transition, np.nan), where=flipped > 0)


def top_target_share(noise: NoisyLabels | np.ndarray) -> np.ndarray:
    """Per true class, the share of its flips that go to its most frequent wrong class: max_j F_ij
    of :func:`flip_distribution` (1 for asymmetric noise, 1 / (K - 1) for symmetric; NaN without flips)."""
    return flip_distribution(noise).max(axis=1)


def effective_targets(noise: NoisyLabels | np.ndarray) -> np.ndarray:
    """Per true class, the effective number of classes its flips go to: exp(-sum_j F_ij ln F_ij)
    over the wrong classes, F of :func:`flip_distribution` (0 ln 0 = 0): 1 for asymmetric noise,
    K - 1 for symmetric; NaN without flips."""
    distribution = flip_distribution(noise)
    logs = np.log(distribution, out=np.zeros_like(distribution), where=distribution > 0)
    return np.exp(-(distribution * logs).sum(axis=1))  # a NaN row stays NaN


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
    root=None,
) -> NoisyLabels:
    """Apply the noise named by ``spec`` to clean training labels (see :func:`parse_noise`).

    idn and idn-norm need ``images`` (N, C, ...) with pixel values in [0, 255], flattened per
    sample: idn divides them by 255, idn-norm standardises each channel over the N images
    (:func:`channel_standardisation`). cifar10n reads ``cifar10n_path``, else
    $ANL_DATA/cifar-n/CIFAR-10_human.pt, else $ANL_DATA/CIFAR-10_human.pt; idn-file reads the
    fixed labels under data_root(root) (``$ANL_DATA`` when None) and joins them through that same
    CIFAR-10N file. idn-file and cifar10n exist for ``dataset`` cifar10 only.
    """
    kind, parameter = parse_noise(spec)
    if kind in CIFAR10_ONLY_KINDS and dataset.lower().replace("-", "") != "cifar10":
        raise ValueError(f"{kind} noise labels CIFAR-10's training images; it has none for dataset {dataset!r} "
                         f"(use it with dataset 'cifar10')")
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
    if kind in ("idn", "idn-norm"):
        if images is None:
            raise ValueError(f"{kind} noise needs the training images (images=...), got None")
        pixels = np.asarray(images)
        offset, scale = channel_standardisation(pixels) if kind == "idn-norm" else (0.0, _PIXEL_MAX)
        features = pixels.reshape(len(pixels), -1)
        return _instance_noise(labels, features, num_classes, parameter, seed, offset, scale, kind)
    path = Path(cifar10n_path) if cifar10n_path is not None else _default_cifar10n_path()
    if kind == "idn-file":
        return fixed_instance_noise(labels, parameter, path, root)
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
