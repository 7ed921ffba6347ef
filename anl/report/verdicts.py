"""Internal: the verdict rule of the claims: a claim "the candidates beat the baselines on a measure" is judged
on the paired per-seed differences (candidate minus baseline, signed so that a positive difference
favours the claim) against an equivalence margin stated in advance for the measure.

With n >= 2 seeds, the two-sided 95 % t interval of the mean difference (``scipy.stats.t``, n - 1
degrees of freedom, standard error s / sqrt(n)) decides, with m the measure's margin:

- **holds**: the interval lies above +m (the candidates ahead by more than the margin);
- **does not hold**: the interval lies below -m;
- **no difference**: the interval lies inside [-m, +m];
- **inconclusive**: the interval straddles -m or +m.

With one seed there is no interval: the difference is reported as *indicative* only, with its sign
against the margin, never as a verdict. An absolute bar (e.g. under 10 % of the wrong labels fitted)
is judged by the same rule with margin 0: the bar is itself the line stated in advance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from anl.report.labels import format_number

#: Coverage of the interval on the mean paired difference.
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Measure:
    """A measure a claim is judged on: its name, how it is shown (``scale`` times the raw value,
    ``decimals``, ``unit``) and its equivalence ``margin`` in raw units (differences within it are
    too small to matter)."""

    name: str
    unit: str
    scale: float
    decimals: int
    margin: float

    def shown(self, value: float, signed: bool = False) -> str:
        """``value`` in the measure's unit as the pages write it ("+1.2")."""
        return format_number(value * self.scale, self.decimals, signed=signed)


#: The margins, stated before any run: one point of accuracy or Dice, two points of the wrong labels
#: fitted (a noisier measure), two epochs to the convergence bar, 0.01 nats of KL divergence.
MEASURES: dict[str, Measure] = {
    "accuracy": Measure("test accuracy", "points", 100.0, 1, 0.01),
    "memorisation": Measure("wrong labels fitted", "points", 100.0, 1, 0.02),
    "epochs": Measure("epochs to the convergence bar", "epochs", 1.0, 1, 2.0),
    "divergence": Measure("KL(predicted class shares ‖ true shares)", "nats", 1.0, 3, 0.01),
    "dice": Measure("test Dice", "points", 100.0, 1, 0.01),
}

VERDICTS = ("holds", "does not hold", "no difference", "inconclusive")


def measure(name: str) -> Measure:
    """The measure of :data:`MEASURES` named ``name``."""
    if name not in MEASURES:
        raise ValueError(f"unknown measure {name!r}; valid: {', '.join(MEASURES)}")
    return MEASURES[name]


@dataclass(frozen=True)
class Verdict:
    """The rule applied to ``seeds`` paired differences: their ``mean``, the interval [``low``,
    ``high``] (NaN with fewer than two seeds) and the ``label``: one of :data:`VERDICTS`,
    "indicative: ..." with one seed, "not assessed: ..." with none."""

    label: str
    mean: float
    low: float
    high: float
    seeds: int
    margin: float

    @property
    def decided(self) -> bool:
        """Whether the label is a verdict (two seeds or more)."""
        return self.label in VERDICTS


def verdict(differences: Sequence[float], margin: float, confidence: float = CONFIDENCE) -> Verdict:
    """Judge the paired per-seed ``differences`` (positive favours the claim) against the
    equivalence ``margin`` (>= 0) by the rule of the module docstring."""
    if not margin >= 0:
        raise ValueError(f"the equivalence margin must be >= 0, got {margin}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    values = np.asarray(differences, dtype=float)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"paired differences must be finite, got {list(values)}")
    n = len(values)
    if n == 0:
        return Verdict("not assessed: no seed ran every loss", math.nan, math.nan, math.nan, 0, margin)
    mean = float(values.mean())
    if n == 1:
        side = ("within the margin" if abs(mean) <= margin else
                "for the claim, beyond the margin" if mean > 0 else "against the claim, beyond the margin")
        return Verdict(f"indicative: {side}", mean, math.nan, math.nan, 1, margin)
    error = float(values.std(ddof=1)) / math.sqrt(n)
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * error  # error 0: the interval is the mean
    low, high = mean - half, mean + half
    if low > margin:
        label = "holds"
    elif high < -margin:
        label = "does not hold"
    elif -margin <= low and high <= margin:
        label = "no difference"
    else:
        label = "inconclusive"
    return Verdict(label, mean, low, high, n, margin)


def rule_text() -> str:
    """The rule and the margins as the claims page states them before its tables (Markdown)."""
    margins = "; ".join(f"{m.name}: {m.shown(m.margin)} {m.unit}" for m in MEASURES.values())
    return (f"**The verdict rule.** For each claim, the paired difference candidate − baseline is taken on each "
            f"seed where every loss of the row ran (signed so that a positive difference favours the claim), and "
            f"its two-sided {100 * CONFIDENCE:g} % t interval over the seeds is set against an equivalence margin "
            f"stated in advance for the measure ({margins}). The claim **holds** when the whole interval lies above "
            f"the margin, **does not hold** when it lies below minus the margin, shows **no difference** when it "
            f"lies inside ± the margin, and is **inconclusive** when it straddles either. With one seed there is "
            f"no interval: the row is *indicative* only, saying on which side of the margin the single difference "
            f"falls. An absolute bar is judged by the same rule with margin 0.")
