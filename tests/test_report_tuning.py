"""anl.report.tuning: where each search of a tuning study stands, its trials, and the chosen settings at
the paper's protocol paired by seed with the presets' runs. Summaries and records written by hand."""

from __future__ import annotations

import json

import pytest

from anl import experiments, tune
from anl.report import tuning
from anl.results import ResultsStore
from anl.train import RunConfig
from records import classification_record

SEARCHES = [experiments.TuningStudy(RunConfig("mnist", "nce_rce", noise="sym:0.4", epochs=2, train_subset=300,
                                              validation_fraction=0.2, validation=validation), 3)
            for validation in ("clean", "noisy")]
CHOSEN = {"alpha": 2.0, "beta": 5.0}


@pytest.fixture
def store(tmp_path, monkeypatch) -> ResultsStore:
    """A store where the clean search has finished its 3 trials and the noisy one has 1 of 3."""
    monkeypatch.setitem(experiments.STUDIES, "tiny", lambda: SEARCHES)
    store = ResultsStore(tmp_path)
    for search, finished in zip(SEARCHES, (3, 1)):
        trials = [{"number": number, "state": "COMPLETE", "params": {"alpha": 1.0 + number, "beta": 5.0},
                   "val_acc": 0.8 + 0.01 * number, "key": f"k{number}", "epochs_reported": 2}
                  for number in range(finished)]
        best = max(trials, key=lambda trial: trial["val_acc"])
        path = tune.summary_path(search.base, store)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"finished": finished, "trials": trials,
                                    "best": {"params": best["params"], "val_acc": best["val_acc"],
                                             "key": best["key"]}}))
    return store


def test_search_rows_show_progress_and_the_setting_only_a_finished_search_has_chosen(store):
    rows = tuning.search_rows("tiny", store.root)
    assert rows[["validation", "finished", "trials"]].values.tolist() == [["clean", 3, 3], ["noisy", 1, 3]]
    assert rows.loc[0, ["alpha", "beta"]].tolist() == [3.0, 5.0] and rows.loc[0, "best_val_acc"] == pytest.approx(0.82)
    assert experiments.chosen_setting(SEARCHES[0], store) == {"alpha": 3.0, "beta": 5.0}
    assert experiments.chosen_setting(SEARCHES[1], store) is None


def test_trials_frame_has_a_row_per_trial_with_its_hyperparameters(store, tmp_path):
    trials = tuning.trials_frame("tiny", store.root)
    assert len(trials) == 4 and trials.groupby("validation").size().to_dict() == {"clean": 3, "noisy": 1}
    assert set(trials.columns) >= {"alpha", "beta", "val_acc", "state"}
    empty = tuning.trials_frame("tiny", tmp_path / "none")
    assert empty.empty and "val_acc" in empty.columns


def test_chosen_settings_are_paired_by_seed_with_the_presets_runs(store):
    pairs = tuning.chosen_and_preset_runs("tiny", store.root)
    assert [setting for setting, _ in pairs] == ["preset"] * 3 + ["clean"] * 3  # the noisy search is not done
    for setting, config in pairs:
        resolved = config.resolved()
        assert resolved["train_subset"] is None and resolved["epochs"] == 50 and "validation" not in resolved
        assert config.loss_overrides == ({} if setting == "preset" else {"alpha": 3.0, "beta": 5.0})
    preset = dict(zip((1, 2, 3), (0.70, 0.72, 0.74)))
    chosen = {1: 0.75, 2: 0.77}  # seed 3 not recorded yet
    for setting, config in pairs:
        final = preset[config.seed] if setting == "preset" else chosen.get(config.seed)
        if final is not None:
            store.write(classification_record(config, final))
    table = tuning.tuned_against_presets(pairs, store.root).set_index("setting")
    assert table.loc["preset", "n"] == 3 and table.loc["preset", "mean"] == pytest.approx(0.72)
    assert table.loc["clean", "n"] == 2 and table.loc["clean", "std"] == pytest.approx(0.0141421, abs=1e-6)
    assert table.loc["clean", "vs_preset"] == pytest.approx(0.05)
    assert table.loc["clean", "verdict"] == "holds"  # +5 points on both seeds: the interval clears the 1-point margin
    assert table.loc["preset", "verdict"] == "" and "noisy" not in table.index
    assert tuning.tuned_against_presets(pairs, store.root / "none").empty


def test_the_noisy_splits_choice_is_set_against_the_clean_splits_by_seed(tmp_path):
    store = ResultsStore(tmp_path)
    pairs = [(setting, experiments.run_config("mnist", "nce_rce", "sym:0.4", seed, loss_overrides=overrides))
             for setting, overrides in (("preset", {}), ("clean", {"alpha": 2.0}), ("noisy", {"alpha": 0.5}))
             for seed in (1, 2)]
    finals = {"preset": 0.70, "clean": 0.80, "noisy": 0.74}
    for setting, config in pairs:
        store.write(classification_record(config, finals[setting] + 0.001 * config.seed))
    table = tuning.tuned_against_presets(pairs, tmp_path).set_index("setting")
    assert table.loc["noisy", "vs_clean"] == pytest.approx(-0.06) and table.loc["noisy", "vs_preset"] == pytest.approx(0.04)
    assert table.loc["noisy", "verdict"] == "holds" and table[["vs_clean"]].drop(index="noisy").isna().all().all()
