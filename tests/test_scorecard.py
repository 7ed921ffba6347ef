"""The scorecard's coverage and agreement follow the records in the store, its counts are those of the
pages it links to, and the published numbers are set beside the mean of the recorded seeds."""

from __future__ import annotations

import pytest

from anl import scorecard
from anl.pages import BOOK
from anl.results import ResultsStore
from anl.train import RunConfig
from records import classification_record

PAPER = [RunConfig("cifar10", "anl_ce", noise="sym:0.8", seed=seed, precision="bf16") for seed in (1, 2)]
REDUCED = [RunConfig("mnist", loss, noise="sym:0.8", epochs=30, train_subset=10_000) for loss in ("ce", "nce_rce")]
# the published cell's loss and noise, but not the published protocol or data set
OTHER_PROTOCOLS = [RunConfig("cifar10", "anl_ce", noise="sym:0.8", seed=3, epochs=40, precision="bf16"),
                   RunConfig("cifar10", "anl_ce", noise="sym:0.8", seed=4, lr=0.1, precision="bf16"),
                   RunConfig("mnist", "anl_ce", noise="sym:0.8")]


def record(config: RunConfig, accuracy: float = 0.5) -> dict:
    return classification_record(config, accuracy)


@pytest.fixture
def store(tmp_path, monkeypatch) -> ResultsStore:
    grids = {"paper": PAPER, "reduced": REDUCED, "other": OTHER_PROTOCOLS}
    monkeypatch.setattr(scorecard, "grid", lambda name: grids[name])
    return ResultsStore(tmp_path)


def test_published_numbers_stand_beside_the_mean_of_our_seeds(store) -> None:
    for config, accuracy in zip(PAPER + OTHER_PROTOCOLS, (0.60, 0.64, 0.10, 0.10, 0.10)):
        store.write(record(config, accuracy))
    table = scorecard.published_beside_ours(store, ["paper", "other"])
    row = table[(table.index == "ANL-CE") & (table["noise"] == "sym 0.8")].iloc[0]
    assert (row["published"], row["ours"], row["seeds"], row["ours − published"]) == ("62.28", "62.00", 2, "-0.28")
    untouched = table[(table.index == "CE") & (table["noise"] == "sym 0.8")].iloc[0]
    assert (untouched["ours"], untouched["seeds"]) == ("–", 0)


def test_coverage_counts_the_group_and_names_its_settings_and_seeds(store) -> None:
    experiment = scorecard.Experiment("x", groups=(scorecard.RunGroup("paper"), scorecard.RunGroup("reduced")))
    store.write(record(PAPER[0]))
    assert scorecard.coverage(experiment, store) == (
        "paper (paper protocol): 1 of 2 runs recorded (sym 0.8 seed 1); "
        "reduced (reduced: 10,000 images, 30 epochs): 0 of 2 runs recorded")


def test_a_planted_disagreement_is_not_reproduced(store) -> None:
    experiment = scorecard.Experiment("x", groups=(scorecard.RunGroup("paper"),))
    assert scorecard.agreement(experiment, store).startswith("not assessed")
    store.write(record(PAPER[0], 0.6128))  # published ANL-CE sym 0.8: 62.28, one point off
    assert scorecard.agreement(experiment, store).startswith("reproduced: all 1 published numbers within 2 points")
    store.write(record(PAPER[1], 0.5628))  # mean 58.78: 3.5 points below
    text = scorecard.agreement(experiment, store)
    assert text.startswith("differs:") and "reproduced" not in text


def test_every_experiment_names_groups_that_exist_or_a_reason() -> None:
    for experiment in scorecard.EXPERIMENTS:
        assert bool(experiment.groups) != bool(experiment.reason or experiment.numerical), experiment.name
        for group in experiment.groups:
            assert group.configs(), group.name


def test_every_count_on_the_scorecard_is_the_count_of_a_section_of_the_linked_page() -> None:
    """Each group the scorecard counts is exactly the runs of one section of the page it links to
    (with the parameters that page renders with), so that page's count is the scorecard's."""
    from anl import pages
    from test_book import book_page

    store = ResultsStore(None)
    for experiment in scorecard.EXPERIMENTS:
        if not experiment.groups:
            continue
        sections = book_page(experiment.page).runs()
        by_keys = {frozenset(config.key for config in pages.configs(entries)): name
                   for name, entries in sections.items()}
        for group in experiment.groups:
            keys = frozenset(config.key for config in group.configs())
            assert keys in by_keys, f"{group.name} is no section of the page {experiment.page}"
            page_configs = list({c.key: c for c in pages.configs(sections[by_keys[keys]])}.values())
            recorded = sum(store.has(config.key) for config in page_configs)
            assert f"{recorded} of {len(page_configs)} runs recorded" in scorecard.group_coverage(group, store)


def test_an_experiment_points_at_a_page_of_the_book() -> None:
    assert all(experiment.page in BOOK for experiment in scorecard.EXPERIMENTS if experiment.page)
    with pytest.raises(ValueError, match="experiment 'x': no book page 'benchmark-cifar10'; the pages: benchmark, "):
        scorecard.Experiment("x", "benchmark-cifar10")
