"""anl.pages: the runs each book page reads from its parameters, and the claims page's verdicts."""

import pytest

from anl import experiments, losses, pages

BENCHMARK = {"dataset": "mnist", "loss_names": ["ce", "anl_ce"], "noises": ["sym:0.8"], "seeds": [1, 2],
             "epochs": 30, "train_subset": 10000, "paper_loss_names": ["anl_fl"], "paper_noises": ["asym:0.4"],
             "paper_seeds": [1], "newest_grid": "mnist-newest", "er_noises": ["asym:0.2"], "er_lambda": 2.0, "protocol_losses": ["anl_ce"],
             "protocol_noises": ["asym:0.4"], "protocols": [[10000, 30], [None, 5], [10000, 150], [None, 50]],
             "protocol_seeds": [1]}


def test_benchmark_sections_are_the_page_protocol_and_the_paper_protocol():
    sections = pages.page("benchmark", {**BENCHMARK, "device": "cpu", "unrelated": object()}).runs()
    assert sorted((c.loss, c.seed, c.epochs, c.train_subset) for c in sections["runs"]) == [
        ("anl_ce", 1, 30, 10000), ("anl_ce", 2, 30, 10000), ("ce", 1, 30, 10000), ("ce", 2, 30, 10000)]
    assert [(c.loss, c.noise, c.epochs, c.train_subset) for c in sections["paper"]] == [
        ("anl_fl", "asym:0.4", None, None)]
    assert [c.key for c in sections["newest"]] == [c.key for c in experiments.grid("mnist-newest")]
    with pytest.raises(ValueError, match="grid 'mnist-newest' has no run on fashion_mnist"):
        pages.page("benchmark", {**BENCHMARK, "dataset": "fashion_mnist"}).runs()
    assert pages.page("benchmark", {**BENCHMARK, "newest_grid": None}).runs()["newest"] == []
    assert [(c.loss, c.noise, c.seed, c.loss_overrides.get("lam")) for c in sections["er"]] == [
        ("anl_ce", "asym:0.2", 1, None), ("anl_ce_er", "asym:0.2", 1, 2.0), ("anl_ce", "asym:0.2", 2, None),
        ("anl_ce_er", "asym:0.2", 2, 2.0)]
    er = sections["er"][1]
    assert er.loss_overrides == {**{k: losses.preset("anl_ce", "mnist")[k] for k in ("alpha", "beta", "delta")},
                                 "lam": 2.0}
    assert er.key in {c.key for c in experiments.grid("mnist-reduced")}
    corners = sections["protocols"]
    assert [(c.loss, c.noise, c.train_subset, c.epochs) for c in corners] == [
        ("anl_ce", "asym:0.4", 10000, 30), ("anl_ce", "asym:0.4", None, 5), ("anl_ce", "asym:0.4", 10000, 150),
        ("anl_ce", "asym:0.4", None, 50)]
    # the four corners are the reduced grid's run, the two of mnist-protocols and the paper protocol's run
    assert [any(c.key == g.key for g in experiments.grid(name)) for c, name in
            zip(corners, ("mnist-reduced", "mnist-protocols", "mnist-protocols", "mnist-full"))] == [True] * 4


def test_a_page_is_its_defaults_but_the_parameters_given_and_an_unknown_page_is_named():
    page = pages.page("benchmark", {**{k: v for k, v in BENCHMARK.items() if k != "paper_seeds"}, "er_lambda": ...})
    assert (page.paper_seeds, page.er_lambda, page.seeds) == (pages.Benchmark().paper_seeds, 2.0, (1, 2))
    assert page == pages.Benchmark.from_parameters({**BENCHMARK, "paper_seeds": [1, 2, 3], "other": 1})
    assert "`protocols = [[10000, 30], [None, 5]" in page.parameters_line()
    with pytest.raises(ValueError, match="no page of a notebook 'intro'; the pages: benchmark"):
        pages.page("intro")


def test_claims_sections_match_the_ablation_and_segmentation_configs():
    parameters = {"dataset": "mnist", "anl_losses": ["anl_ce"], "baseline_losses": ["ce"], "slow_losses": ["nce_mae"],
                  "noises": ["sym:0.8"], "seeds": [1], "epochs": None, "train_subset": None, "precision": "bf16", "grids": [],
                  "newest_grids": [], "ablation_seeds": [1],
                  "ablation_epochs": 30, "ablation_train_subset": 10000, "high_noise": "sym:0.8",
                  "l2_weight_decays": [1e-3], "er_noises": ["asym:0.4"], "er_seeds": [1, 2], "er_lambda": 2.0,
                  "segmentation_candidates": ["anl_ce"], "segmentation_baselines": ["ce"],
                  "segmentation_reference": ["dice"], "segmentation_noises": ["shift:1:8-16"],
                  "segmentation_seeds": [1], "segmentation_protocol": "reduced"}
    sections = pages.page("claims", parameters).runs()
    assert [c.loss for c in sections["paper"]] == ["anl_ce", "ce", "nce_mae"]
    # the precision names the paper-protocol runs only: the ablation runs keep their own (fp32) keys
    assert {c.resolved()["precision"] for c in sections["paper"]} == {"bf16"}
    assert {c.resolved().get("precision", "fp32") for _, c in sections["regulariser"]} == {"fp32"}
    regularisers = [(setting, config.resolved()) for setting, config in sections["regulariser"]]
    assert [(setting, c["noise"], c["weight_decay"], c["loss_overrides"].get("delta"), c["epochs"], c["train_subset"])
            for setting, c in regularisers] == [
        ("L1, delta 1e-06", "sym:0.8", 0.0, None, 30, 10000), ("L2, weight decay 0.001", "sym:0.8", 1e-3, 0.0, 30, 10000),
        ("neither", "sym:0.8", 0.0, 0.0, 30, 10000)]
    assert [(c.loss, c.noise, c.seed, c.epochs, c.loss_overrides.get("lam")) for c in sections["er"]] == [
        ("anl_ce", "asym:0.4", 1, 30, None), ("anl_ce_er", "asym:0.4", 1, 30, 2.0), ("anl_ce", "asym:0.4", 2, 30, None),
        ("anl_ce_er", "asym:0.4", 2, 30, 2.0)]
    # every run of the page's defaults at these settings is one of the named grids'
    assert {c.key for c in sections["er"]} <= {c.key for c in experiments.grid("mnist-reduced")}
    assert sorted((c.loss, c.noise, tuple(c.size), c.base_width, c.epochs) for c in sections["masks"]) == [
        (loss, "shift:1:8-16", (64, 48), 8, 20) for loss in ("anl_ce", "ce", "dice")]


def test_claims_take_from_named_grids_the_runs_of_their_losses_protocol_and_precision_at_other_noise():
    parameters = {"dataset": "cifar10", "anl_losses": ["anl_ce", "anl_fl"], "baseline_losses": ["ce", "nce_rce"],
                  "slow_losses": [], "noises": ["sym:0.8", "asym:0.2"], "seeds": [1], "epochs": None,
                  "train_subset": None, "precision": "bf16", "grids": ["cifar10-table", "cifar10-short", "cifar10n"],
                  "newest_grids": [], "ablation_seeds": [1], "ablation_epochs": 30, "ablation_train_subset": 10000, "high_noise": "sym:0.8",
                  "l2_weight_decays": [], "er_noises": [], "er_seeds": [1], "er_lambda": 2.0,
                  "segmentation_candidates": [], "segmentation_baselines": [], "segmentation_reference": [],
                  "segmentation_noises": [], "segmentation_seeds": [], "segmentation_protocol": "reduced"}
    with pytest.raises(ValueError, match="grid 'cifar10-short' has no run of anl_ce, anl_fl, ce, nce_rce on cifar10 "
                                         "with this page's protocol and precision at a noise setting other than "
                                         "sym:0.8, asym:0.2 and clean"):
        pages.page("claims", parameters).runs()  # its runs are 40 epochs long and at sym 0.8
    sections = pages.page("claims", {**parameters, "grids": ["cifar10-table", "cifar10n"]}).runs()
    grid_runs = [(name, config.loss, config.noise) for name, config in sections["grids"]]
    # no clean run, no ANL-CE-ER, nothing at the page's own noise settings; the grids' order kept
    assert grid_runs == [("cifar10-table", loss, noise) for loss, noise in [
        ("anl_ce", "asym:0.4"), ("nce_rce", "asym:0.4"), ("anl_ce", "sym:0.4"), ("nce_rce", "sym:0.4"),
        ("ce", "asym:0.4"), ("anl_fl", "asym:0.4"), ("ce", "sym:0.4"), ("anl_fl", "sym:0.4")]] + [
        ("cifar10n", loss, f"cifar10n:{labels}") for labels, names in [("worst", ["anl_ce", "nce_rce", "ce", "anl_fl"]),
                                                                    ("aggre", ["anl_ce", "nce_rce", "ce"])]
        for loss in names]
    with pytest.raises(ValueError, match="grid 'cifar10-table' has no run"):  # its runs are bf16
        pages.page("claims", {**parameters, "grids": ["cifar10-table"], "precision": "fp32"}).runs()
    # runs that change a setting of the protocol (weight decay, loss hyperparameters) are not the loss's runs
    ablations = pages.page("claims", {**parameters, "dataset": "mnist", "noises": ["sym:0.8"], "epochs": 30,
                                           "train_subset": 10000, "precision": "fp32", "grids": ["mnist-ablations"]}).runs()
    assert [(name, config.loss, config.noise, config.loss_overrides) for name, config in ablations["grids"]] == [
        ("mnist-ablations", "anl_ce", "sym:0.6", {"alpha": 1.0, "beta": 1.0, "delta": 1e-06})]

    # the newest robust losses: their own loss settings allowed (MNIST has no preset of theirs), the protocol not
    newest = pages.page("claims", {**parameters, "dataset": "mnist", "grids": [], "precision": "fp32",
                                        "newest_grids": ["mnist-newest"]}).runs()["newest"]
    assert [(name, config.loss, config.noise, config.seed) for name, config in newest][:4] == [
        ("mnist-newest", loss, noise, 1) for noise in ("sym:0.8", "asym:0.4") for loss in ("jal_ce", "ce_eps_mae")]
    assert len(newest) == 12
    with pytest.raises(ValueError, match="grid 'mnist-newest' has no run on mnist with this page's protocol"):
        pages.page("claims", {**parameters, "dataset": "mnist", "grids": [], "precision": "fp32", "epochs": 30,
                                   "train_subset": 10000, "newest_grids": ["mnist-newest"]}).runs()
    cifar10 = pages.page("claims", {**parameters, "grids": [], "newest_grids": ["cifar10-newest"]}).runs()["newest"]
    assert [(config.loss, config.noise) for _, config in cifar10] == [
        ("jal_ce", "sym:0.8"), ("ce_eps_mae", "sym:0.8"), ("jal_ce", "asym:0.4"), ("ce_eps_mae", "asym:0.4"),
        ("nce_agce", "sym:0.8")]


def test_detection_takes_each_paper_protocol_run_of_its_grids_once_at_its_settings():
    runs = pages.page("detection", {"settings": ["sym:0.8", "cifar10n:worst"], "reference_grid": None,
                                    "grids": ["mnist-detection", "cifar10n", "cifar10-detection"]}).runs()["runs"]
    assert [(name, config.loss, config.seed) for name, config in runs if name == "cifar10n"] == [
        ("cifar10n", loss, 1) for loss in ("anl_ce", "nce_rce", "ce", "anl_fl")]  # aggre left out
    assert {config.noise for _, config in runs} == {"sym:0.8", "cifar10n:worst"}
    assert len({config.key for _, config in runs}) == len(runs) == 10 + 4 + 6
    with pytest.raises(ValueError, match="grid 'cifar10-short' has no paper-protocol run at sym:0.8"):
        pages.page("detection", {"settings": ["sym:0.8"], "grids": ["cifar10-short"], "reference_grid": None}).runs()


def test_detection_takes_the_held_out_fold_runs_of_its_reference_grid_at_its_settings():
    parameters = {"settings": ["sym:0.8"], "grids": ["mnist-detection"], "reference_grid": "mnist-detection-reference"}
    sections = pages.page("detection", parameters).runs()
    assert [(config.loss, config.noise, config.seed, config.holdout_folds, config.holdout_fold)
            for config in sections["reference"]] == [("ce", "sym:0.8", 1, 4, fold) for fold in range(4)]
    assert not {config.key for config in sections["reference"]} & {config.key for _, config in sections["runs"]}
    assert pages.page("detection", {**parameters, "reference_grid": None}).runs()["reference"] == []


SEGMENTATION = {"loss_names": ["dice"], "noises": ["clean"], "seeds": [1], "protocol": "reduced", "epochs": None,
                "resolution_protocol": "half", "resolution_losses": ["ce", "anl_ce"],
                "resolution_noises": ["shift:1:8-16"], "resolution_seeds": [1, 2]}


def test_segmentation_epochs_override_the_protocol():
    runs = pages.page("segmentation", {**SEGMENTATION, "epochs": 3}).runs()["runs"]
    assert [(c.loss, c.epochs) for c in runs] == [("dice", 3)]
    default = pages.page("segmentation", SEGMENTATION).runs()["runs"]
    assert (default[0].epochs, tuple(default[0].size)) == (20, (64, 48))


def test_segmentation_resolution_section_is_the_resolution_protocol_or_nothing():
    sections = pages.page("segmentation", {**SEGMENTATION, "epochs": 3}).runs()
    assert [(c.loss, c.seed, tuple(c.size), c.epochs) for c in sections["resolution"]] == [
        ("ce", 1, (128, 96), 20), ("anl_ce", 1, (128, 96), 20), ("ce", 2, (128, 96), 20), ("anl_ce", 2, (128, 96), 20)]
    assert pages.page("segmentation", {**SEGMENTATION, "resolution_protocol": None}).runs()["resolution"] == []
    with pytest.raises(ValueError, match="unknown segmentation protocol 'double'; choose one of full, half, reduced"):
        pages.page("segmentation", {**SEGMENTATION, "resolution_protocol": "double"}).runs()


def test_configs_unwraps_setting_pairs():
    runs = pages.page("dynamics", {k: BENCHMARK[k] for k in ("dataset", "loss_names", "noises", "seeds", "epochs",
                                                                  "train_subset")}).runs()["runs"]
    assert pages.configs([("a", runs[0]), runs[1]]) == runs[:2]


CIFAR10 = {"dataset": "cifar10", "loss_names": ["anl_ce", "ce"], "noises": ["sym:0.8"], "seeds": [1],
           "precision": "bf16", "short_epochs": 40, "table_grid": "cifar10-table", "idn_grid": None,
           "human_grid": "cifar10n", "newest_grid": "cifar10-newest", "precision_grid": "mnist-bf16", "spread_seed": 2}


def test_cifar10_sections_are_the_headline_its_shorter_twin_the_named_grids_and_the_precision_twins():
    sections = pages.page("cifar10", CIFAR10).runs()
    assert [(c.loss, c.epochs, c.precision) for c in sections["paper"]] == [("anl_ce", None, "bf16"),
                                                                           ("ce", None, "bf16")]
    assert [(c.loss, c.epochs) for c in sections["short"]] == [("anl_ce", 40), ("ce", 40)]
    assert sections["paper"][0].key in {c.key for c in experiments.grid("cifar10-paper")}
    assert [c.key for c in sections["table"]] == [c.key for c in experiments.grid("cifar10-table")]
    assert sections["idn"] == [] and len(sections["human"]) == len(experiments.grid("cifar10n"))
    assert [c.key for c in sections["newest"]] == [c.key for c in experiments.grid("cifar10-newest")]
    first, *twins = sections["precision"][:3]
    assert (first.precision, [(c.precision, c.seed) for c in twins]) == ("bf16", [("fp32", 1), ("fp32", 2)])
    assert pages.page("cifar10", {**CIFAR10, "short_epochs": None, "precision_grid": None}).runs()["short"] == []


def test_claims_verdicts_set_anl_against_the_newest_losses_only_where_every_one_ran(tmp_path):
    from anl import report
    from anl.results import ResultsStore
    from records import classification_record

    store = ResultsStore(tmp_path)
    page = pages.Claims(anl_losses=("anl_ce",), baseline_losses=("ce",), slow_losses=(), l2_weight_decays=(),
                        er_noises=(), segmentation_candidates=(), results_dir=str(tmp_path), train_missing=False)
    sections = page.runs()
    finals = {"anl_ce": 0.6, "ce": 0.3, "jal_ce": 0.5, "ce_eps_mae": 0.4}
    for config in sections["paper"]:
        store.write(classification_record(config, finals[config.loss] + config.seed / 100))
    newest = pages.configs(sections["newest"])
    for config in newest:  # at asym 0.4 CEε+MAE has not run
        if config.noise == "sym:0.8" or config.loss == "jal_ce":
            store.write(classification_record(config, finals[config.loss] + config.seed / 100))
    runs = page.load(sections)
    table = page.verdicts(sections, runs)
    assert list(table["claim"]) == ["robust at high noise", "does not memorise wrong labels",
                                    "fits under 10\u00a0% of the wrong labels"] * 2 + [pages.NEWEST_CLAIM]
    row = table.iloc[-1]
    assert (row["setting"], row["verdict"]) == (report.noise_cell("sym:0.8"), "holds")
    assert row["baselines"].startswith("JAL\u2011CE\u00a052.0") and "CEε+MAE\u00a042.0" in row["baselines"]  # both rivals
    assert "CIFAR-10 presets" in page.notes(table)  # MNIST takes the newest losses' CIFAR-10 presets
    assert "- mnist-newest: 9 of 12 runs recorded; still to run: CEε+MAE asym 0.4 seed 1" in page.runs_behind(sections, runs)
    # ANL losing to one rival at sym 0.8 turns the verdict
    for config in newest:
        if config.noise == "sym:0.8" and config.loss == "jal_ce":
            store.write(classification_record(config, 0.7 + config.seed / 100))
    assert page.verdicts(sections, page.load(sections)).iloc[-1]["verdict"] == "does not hold"


def test_grid_status_counts_each_grid_of_its_entries():
    from anl import report

    first, second = experiments.product("mnist", ["ce", "anl_ce"], ["sym:0.8"], [1])
    status = report.grid_status([("a", first), ("b", second), ("a", second)], [second])
    assert status == ("- a: 1 of 2 runs recorded; still to run: ANL-CE sym 0.8 seed 1.\n"
                      "- b: 0 of 1 runs recorded; still to run: ANL-CE sym 0.8 seed 1.")
