"""The verdict rule: a t interval on the paired per-seed differences against an equivalence margin
stated in advance, checked against hand computations, and on the committed records."""

from __future__ import annotations

import math

import pytest

from anl import report
from anl.report.verdicts import verdict

POINT = 0.01  # one point of accuracy, as a fraction


def test_one_seed_is_only_indicative_whatever_the_margin():
    assert verdict([0.1 * POINT], POINT).label == "indicative: within the margin"
    assert verdict([5 * POINT], POINT).label == "indicative: for the claim, beyond the margin"
    assert verdict([-5 * POINT], POINT).label == "indicative: against the claim, beyond the margin"
    assert not verdict([0.1 * POINT], POINT).decided and math.isnan(verdict([0.1 * POINT], POINT).low)


def test_three_seeds_around_zero_show_no_difference():
    judged = verdict([0.1 * POINT, -0.1 * POINT, 0.0], POINT)
    # mean 0, s = 0.1 point, t(0.975, 2) = 4.3027: half-width 4.3027 * 0.1 / sqrt(3) = 0.2484 point
    assert judged.label == "no difference"
    assert (judged.low, judged.high) == pytest.approx((-0.002484, 0.002484), abs=1e-6)


def test_large_consistent_differences_hold_and_against_do_not_hold():
    assert verdict([5 * POINT, 6 * POINT, 5.5 * POINT], POINT).label == "holds"
    assert verdict([-5 * POINT, -6 * POINT, -5.5 * POINT], POINT).label == "does not hold"


def test_a_wide_spread_or_an_interval_across_a_margin_is_inconclusive():
    assert verdict([8 * POINT, -6 * POINT, 1 * POINT], POINT).label == "inconclusive"
    # mean 1.5 points, s 0.5, half-width 4.3027 * 0.5 / sqrt(3) = 1.24: [0.26, 2.74] straddles +1
    assert verdict([1 * POINT, 1.5 * POINT, 2 * POINT], POINT).label == "inconclusive"


def test_identical_differences_give_a_point_interval():
    judged = verdict([2 * POINT] * 3, POINT)
    assert judged.label == "holds" and judged.low == judged.high == pytest.approx(2 * POINT)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="margin must be >= 0, got -1"):
        verdict([0.0, 0.0], -1)
    with pytest.raises(ValueError, match="finite"):
        verdict([0.0, float("nan")], POINT)
    with pytest.raises(ValueError, match="unknown measure 'speed'; valid: accuracy"):
        report.measure("speed")
    assert verdict([], POINT).label.startswith("not assessed")


def test_the_rule_text_states_every_margin():
    text = report.rule_text()
    for measure in report.MEASURES.values():
        assert f"{measure.name}: {measure.shown(measure.margin)} {measure.unit}" in text


def test_format_number_never_writes_minus_zero():
    assert report.format_number(-0.04, 1) == "0.0" and report.format_number(-0.04, 1, signed=True) == "0.0"
    assert report.format_number(0.04, 1, signed=True) == "0.0"
    assert report.format_number(-0.06, 1) == "-0.1" and report.format_number(0.06, 1, signed=True) == "+0.1"
    assert report.format_mean_std(-0.00001, 0.0001) == f"0.00{report.PLUS_MINUS}0.01"


def test_committed_records_come_out_as_what_they_are():
    """MNIST at the paper protocol (3 seeds, differences about -0.1 ± 0.1 point) is "no difference";
    the segmentation rows (2 seeds that disagree) are not "holds"."""
    from anl import experiments

    runs = report.load_runs(experiments.grid("mnist-full"), train=False)
    for spec in ("sym:0.8", "asym:0.4"):
        rows = runs.summaries[runs.summaries["noise"] == spec]
        check = report.claim_check(rows, "loss", "final_test_acc", ["anl_ce", "anl_fl"],
                                   ["ce", "gce", "nce_mae", "nce_rce", "nce_agce"])
        assert check.seeds == 3 and check.verdict(report.measure("accuracy")).label == "no difference", spec
    masks = report.load_runs(experiments.grid("isic-reduced"), train=False).summaries
    for spec in ("boundary:1:8-16", "shift:1:8-16"):
        rows = masks[masks["noise"] == spec]
        check = report.claim_check(rows, "loss", "final_test_dice", ["anl_ce"], ["ce", "gce", "nce_rce"])
        judged = check.verdict(report.measure("dice"))
        assert check.seeds == 2 and judged.label != "holds", (spec, judged)
