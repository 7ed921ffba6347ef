"""Internal: how the book names and writes things: data sets, classes, noise settings, augmentations, mask-noise
settings and numbers."""

from __future__ import annotations

from anl import data, losses, mask_noise

DATASET_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10",
                 "cifar100": "CIFAR-100", "webvision": "WebVision"}
SHORT_CLASS_NAMES = {"airplane": "plane", "automobile": "car", "T-shirt/top": "T-shirt", "Ankle boot": "boot"}
NOISE_KIND_NAMES = {"clean": "clean", "sym": "symmetric", "asym": "asymmetric", "pairflip": "pair-flip",
               "idn": "instance-dependent (raw pixels)", "idn-norm": "instance-dependent (normalised pixels)",
               "idn-file": "instance-dependent (fixed labels)", "cifar10n": "CIFAR-10N human"}
AUGMENTATION_NAMES = {"none": "none", "crop_flip": "random crop (padding 4) and horizontal flip",
                      "crop_flip_rotate": "random crop (padding 4) with horizontal flip and rotation (±20°)"}


def dataset_label(dataset: str, source: str = "") -> str:
    """"MNIST", "CIFAR-10 (JPEG q75 copy)" when the data source is the JPEG copy, ..."""
    name = DATASET_NAMES.get(dataset, dataset)
    return f"{name} (JPEG q75 copy)" if "JPEG" in source else name


def class_names(dataset: str) -> list[str]:
    """Short class names of a data set for figure axes ("plane", "car", ... for CIFAR-10)."""
    names = {"mnist": data.MNIST_CLASSES, "fashion_mnist": data.FASHION_MNIST_CLASSES,
             "cifar10": data.CIFAR10_CLASSES}
    if dataset not in names:
        raise ValueError(f"no class names for {dataset!r}; valid: {', '.join(names)}")
    return [SHORT_CLASS_NAMES.get(name, name) for name in names[dataset]]


def noise_label(spec: str) -> str:
    """"clean" -> "clean", "sym:0.4" -> "sym 0.4", "cifar10n:worst" -> "cifar10n worst"."""
    return spec.replace(":", " ")


def nowrap(text: str) -> str:
    """``text`` as a browser never breaks it: spaces as no-break spaces, hyphens as non-breaking
    hyphens ("ANL-CE sym 0.8", "δ 1e-06" stay on one line)."""
    return text.replace(" ", "\u00a0").replace("-", "\u2011")


def plain(text: str) -> str:
    """``text`` with :func:`nowrap`'s no-break spaces and hyphens as plain ones (for a README read as text)."""
    return text.replace("\u00a0", " ").replace("\u2011", "-")


def noise_cell(spec: str) -> str:
    """A noise setting as a table cell, which never breaks: "sym 0.8"."""
    return nowrap(noise_label(spec))


def noise_kind_label(spec: str) -> str:
    """"sym:0.4" -> "symmetric", "asym:0.2" -> "asymmetric", "idn:0.4" -> "instance-dependent (raw
    pixels)", "idn-file:0.4" -> "instance-dependent (fixed labels)", ..."""
    kind = spec.partition(":")[0]
    return NOISE_KIND_NAMES.get(kind, kind)


def nominal_rate(spec: str) -> float:
    """Nominal rate of a spec: 0 for clean, the number after the colon for the kinds with a rate."""
    kind, _, parameter = spec.partition(":")
    if kind == "clean":
        return 0.0
    try:
        return float(parameter)
    except ValueError:
        raise ValueError(f"noise {spec!r} has no numeric rate; valid: clean or KIND:RATE, e.g. sym:0.4") from None


def mask_noise_label(spec: str) -> str:
    """"clean"; "boundary:1:8-16" -> "boundary 8-16 px, all masks"; "shift:0.5:8" -> "shift 1-8 px,
    50 % of masks"; "coarse:1:ellipse" -> "coarse (ellipse), all masks" (pixels at 256x192)."""
    parsed = mask_noise.parse_mask_noise(spec)
    if parsed.kind == "clean":
        return "clean"
    detail = f"({parsed.shape})" if parsed.kind == "coarse" else f"{parsed.low}-{parsed.high} px"
    share = "all masks" if parsed.fraction == 1 else f"{100 * parsed.fraction:g} % of masks"
    return f"{parsed.kind} {detail}, {share}"


def format_number(value: float, decimals: int, signed: bool = False) -> str:
    """``value`` rounded to ``decimals`` places, with a "+" when ``signed`` and positive, and never
    "-0.0": a value that rounds to zero is written without a sign ("0.0", also when ``signed``);
    "–" for NaN."""
    if value != value:
        return "–"
    text = f"{value:.{decimals}f}"
    if float(text) == 0:
        return text.lstrip("-")
    return f"+{text}" if signed and value > 0 else text


def loss_label(loss: str, dataset: str | None = None) -> str:
    """The paper's name of a loss ("ANL-CE"), saying when the preset of ``dataset`` switches one of
    its two terms off: on MNIST NCE+AGCE's preset has α = 0, so it is "NCE+AGCE (α = 0: AGCE alone)"."""
    name = losses.display_name(loss)
    if dataset is None:
        return name
    try:
        weights = losses.preset(loss, dataset)
    except ValueError:  # no preset of this data set: nothing switched off by one
        return name
    if "alpha" in weights and "beta" in weights and loss.startswith("nce_") and weights["alpha"] == 0:
        return f"{name} (α\u00a0=\u00a00: {name.partition('+')[2]} alone)"
    return name
