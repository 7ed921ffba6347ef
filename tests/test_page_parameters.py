"""anl.pages: building a page checks its parameters: a notebook given a bad parameter stops in the
first code cell after its parameters cell, with one line naming the parameter and its valid choices;
the parameters every page of the book runs with pass."""

from __future__ import annotations

import math

import pytest

from anl import pages
from dataclasses import fields

from test_book import PAGES, REPOSITORY, book_page, parameters_cell

NOTEBOOKS = sorted(path.stem for path in (REPOSITORY / "notebooks").glob("*.py"))


def check(notebook: str, **changes) -> None:
    """The notebook's page with ``changes`` to its defaults."""
    pages.page(notebook, changes)


def error_of(notebook: str, **changes) -> str:
    with pytest.raises(ValueError) as caught:
        check(notebook, **changes)
    return str(caught.value)


def test_every_notebook_is_a_page_whose_fields_its_parameters_cell_names_unset():
    """A default is written once, in anl.pages: the parameters cell only names the fields (for papermill)."""
    assert sorted(pages.PAGES) == NOTEBOOKS
    for notebook in NOTEBOOKS:
        assert parameters_cell(notebook) == {item.name: ... for item in fields(pages.PAGES[notebook])}, notebook


@pytest.mark.parametrize("page", sorted({*NOTEBOOKS, *PAGES}))
def test_the_parameters_of_every_page_pass(page):
    book_page(page)


LOSS_CHOICES = "choose from ce, fl, mae, gce, rce, sce, nce, nfl, nnce, nnfl, agce, aul, ael, nce_mae, nce_rce, "
BAD = [  # notebook, parameter, bad value, the start of the one-line message
    # losses: unknown, a segmentation loss on a classification page, another spelling, no preset
    ("benchmark", "loss_names", ["ce", "anl_xx"], f"parameter loss_names: unknown loss 'anl_xx'; {LOSS_CHOICES}"),
    ("dynamics", "loss_names", ["dice"], f"parameter loss_names: loss 'dice' is a segmentation loss; {LOSS_CHOICES}"),
    ("claims", "anl_losses", ["ANL-CE"],
     f"parameter anl_losses: loss 'ANL-CE' is spelled 'anl_ce' here; {LOSS_CHOICES}"),
    ("benchmark", "protocol_losses", ["anl_ce_er"],
     f"parameter protocol_losses: loss 'anl_ce_er' has no published preset for mnist; {LOSS_CHOICES}"),
    ("benchmark", "loss_names", [3], f"parameter loss_names: unknown loss 3; {LOSS_CHOICES}"),
    ("segmentation", "resolution_losses", ["xx"], f"parameter resolution_losses: unknown loss 'xx'; {LOSS_CHOICES}"),
    # data sets
    ("benchmark", "dataset", "svhn", "parameter dataset: unknown data set 'svhn'; choose from mnist, fashion_mnist, "
                                     "cifar10, cifar100"),
    ("claims", "dataset", ["mnist"], "parameter dataset: unknown data set ['mnist']; choose from mnist, "),
    ("ablations", "dataset", "cifar100", "parameter dataset: no class names for 'cifar100'; valid: mnist, "
                                         "fashion_mnist, cifar10 (needed while lambdas is not empty)"),
    ("losses", "preset_dataset", "mnist", "parameter preset_dataset: 'mnist' is not a data set with a preset for "
                                          "every loss; choose from cifar10"),
    # label noise
    ("benchmark", "noises", ["clean", "gauss:0.2"],
     "parameter noises: unknown noise kind 'gauss' in 'gauss:0.2'; "
     "choose one of ('clean', 'sym', 'asym', 'pairflip', 'idn', 'idn-norm', 'idn-file', 'cifar10n')"),
    ("dynamics", "noises", ["sym:1.2"], "parameter noises: sym noise rate must lie in [0, 1), got 1.2"),
    ("ablations", "er_noise", "asym:-0.1", "parameter er_noise: asym noise rate must lie in [0, 1], got -0.1"),
    ("claims", "noises", ["idn:2"], "parameter noises: idn noise rate must lie in [0, 1], got 2.0"),
    ("ablations", "high_noise", "sym", "parameter high_noise: noise spec 'sym' needs a parameter, e.g. 'sym:0.4'"),
    ("benchmark", "paper_noises", ["cifar10n:best"],
     "parameter paper_noises: unknown CIFAR-10N label set 'best'; "
     "choose one of ('aggre', 'random1', 'random2', 'random3', 'worst')"),
    ("benchmark", "er_noises", [0.4], "parameter er_noises: 0.4 is not a noise spec; kinds: clean, sym, asym, "),
    # mask noise
    ("segmentation", "noises", ["clean", "blur:1:4"], "parameter noises: unknown mask noise kind 'blur' in "
                                                      "'blur:1:4'; choose one of clean, boundary, coarse, shift"),
    ("claims", "segmentation_noises", ["shift:1.5:8-16"], "parameter segmentation_noises: fraction of noisy masks in "
                                                          "'shift:1.5:8-16' must lie in [0, 1], got 1.5"),
    ("segmentation", "resolution_noises", ["shift:1:8"], "parameter resolution_noises: mask noise 'shift:1:8' is "
                                                         "spelled 'shift:1:1-8' here (as in the runs' records)"),
    ("segmentation", "example_noise", "boundary:1:16-8", "parameter example_noise: pixel range in 'boundary:1:16-8' "
                                                         "must satisfy 1 <= A <= B, got '16-8'"),
    # segmentation protocols
    ("claims", "segmentation_protocol", "tiny", "parameter segmentation_protocol: unknown segmentation protocol "
                                                "'tiny'; choose one of full, half, reduced"),
    ("segmentation", "protocol", None, "parameter protocol: None is not a segmentation protocol; choose one of full, "
                                       "half, reduced"),
    ("segmentation", "resolution_protocol", "double", "parameter resolution_protocol: unknown segmentation protocol "
                                                      "'double'; choose one of full, half, reduced (or None)"),
    # named grids
    ("claims", "grids", ["cifar10-tiny"], "parameter grids: unknown grid 'cifar10-tiny'; choose one of "),
    # seeds and lists
    ("benchmark", "seeds", [1, 0], "parameter seeds: 0 is not a positive integer"),
    ("segmentation", "seeds", [-1], "parameter seeds: -1 is not a positive integer"),
    ("dynamics", "seeds", [1.5], "parameter seeds: 1.5 is not a positive integer"),
    ("claims", "er_seeds", [True], "parameter er_seeds: True is not a positive integer"),
    ("ablations", "seeds", ["1"], "parameter seeds: '1' is not a positive integer"),
    ("benchmark", "seeds", 1, "parameter seeds: 1 is not a list of positive integers"),
    ("dynamics", "noises", "sym:0.8", "parameter noises: 'sym:0.8' is not a list of noise specs"),
    ("benchmark", "loss_names", [], "parameter loss_names: the list is empty; give one or more loss names"),
    ("segmentation", "noises", [], "parameter noises: the list is empty; give one or more mask-noise specs"),
    ("benchmark", "paper_seeds", [], "parameter paper_seeds: empty while paper_loss_names = ['ce', "),
    ("claims", "segmentation_baselines", [], "parameter segmentation_baselines: empty while segmentation_candidates = "
                                             "['anl_ce']; give one or more loss names"),
    ("noise", "cifar10n_heatmaps", "worst",
     "parameter cifar10n_heatmaps: 'worst' is not a list of CIFAR-10N label sets"),
    ("noise", "seed", 0, "parameter seed: 0 is not a positive integer"),
    ("losses", "seed", -1, "parameter seed: -1 is not an integer >= 0"),
    # epochs, training subsets, protocols of the benchmark
    ("benchmark", "epochs", 0, "parameter epochs: 0 is not a positive integer (or None)"),
    ("dynamics", "epochs", -5, "parameter epochs: -5 is not a positive integer (or None)"),
    ("segmentation", "epochs", 2.5, "parameter epochs: 2.5 is not a positive integer (or None)"),
    ("claims", "ablation_epochs", "30", "parameter ablation_epochs: '30' is not a positive integer (or None)"),
    ("ablations", "train_subset", 0, "parameter train_subset: 0 is not a positive integer (or None)"),
    ("benchmark", "protocols", [[10000, 30], [10000]], "parameter protocols: [10000] is not [training subset, epochs], "
                                                       "each a positive integer or None"),
    ("benchmark", "protocols", [[0, 30]], "parameter protocols: [0, 30] is not [training subset, epochs]"),
    # fractions, rates, numbers, hyperparameters
    ("dynamics", "convergence_fraction", 0, "parameter convergence_fraction: 0 is not a number in (0, 1]"),
    ("claims", "convergence_fraction", 1.5, "parameter convergence_fraction: 1.5 is not a number in (0, 1]"),
    ("noise", "heatmap_rate", 1.0, "parameter heatmap_rate: sym noise rate must lie in [0, 1), got 1.0"),
    ("noise", "heatmap_rate", "0.4", "parameter heatmap_rate: '0.4' is not a noise rate (a number)"),
    ("noise", "asym_rates", [0.1, 1.2], "parameter asym_rates: asym noise rate must lie in [0, 1], got 1.2"),
    ("noise", "idn_rates", [-0.1], "parameter idn_rates: idn noise rate must lie in [0, 1], got -0.1"),
    ("noise", "cifar10n_sets", ["aggre", "best"], "parameter cifar10n_sets: unknown CIFAR-10N label set 'best'"),
    ("losses", "num_classes", 1, "parameter num_classes: 1 is not an integer >= 2"),
    ("losses", "num_inputs", 0, "parameter num_inputs: 0 is not a positive integer"),
    ("losses", "logit_scale", 0, "parameter logit_scale: 0 is not a number > 0"),
    ("losses", "logit_scale", math.inf, "parameter logit_scale: inf is not a number > 0"),
    ("benchmark", "er_lambda", -1.0, "parameter er_lambda: lambda (ER weight) must be >= 0, got -1.0"),
    ("ablations", "alphas", [1.0, -1.0], "parameter alphas: alpha must be >= 0, got -1.0"),
    ("ablations", "betas", [math.nan], "parameter betas: nan is not a number"),
    ("ablations", "deltas", [-1e-6], "parameter deltas: delta (L1 weight) must be >= 0, got -1e-06"),
    ("ablations", "lambdas", ["2"], "parameter lambdas: '2' is not a number"),
    ("claims", "l2_weight_decays", [0.0], "parameter l2_weight_decays: 0.0 is not a number > 0"),
    # where the runs come from
    ("benchmark", "device", "gpu", "parameter device: 'gpu' is not a device: auto, cpu, cuda or cuda:N"),
    ("segmentation", "train_missing", "yes", "parameter train_missing: 'yes' is not True or False"),
    ("claims", "results_dir", 3, "parameter results_dir: 3 is not a folder path or None"),
]


@pytest.mark.parametrize("notebook, name, value, message", BAD, ids=[f"{n}-{p}-{v!r}" for n, p, v, _ in BAD])
def test_a_bad_parameter_gets_one_line_naming_it_and_the_choices(notebook, name, value, message):
    error = error_of(notebook, **{name: value})
    assert error.startswith(message)
    assert "\n" not in error


def test_the_choices_are_those_of_the_page():
    segmentation = error_of("segmentation", loss_names=["xx"])
    assert "dice" in segmentation and "anl_ce_er" in segmentation
    assert "dice" not in error_of("benchmark", loss_names=["xx"]).partition("choose from")[2]
    assert "anl_ce_er" in error_of("benchmark", dataset="cifar10", loss_names=["xx"])  # CIFAR-10 has its preset


def test_values_at_the_edges_and_empty_lists_that_skip_a_section_pass():
    check("benchmark", epochs=None, train_subset=None, device="cuda:0", results_dir="/tmp", paper_loss_names=[],
          paper_seeds=[], protocol_losses=[], protocols=[], er_noises=[], noises=["pairflip:0.3", "cifar10n:worst"])
    check("ablations", dataset="cifar100", lambdas=[], deltas=[0.0], alphas=[], betas=[])
    check("claims", segmentation_candidates=[], segmentation_baselines=[], segmentation_noises=[],
          l2_weight_decays=[], ablation_seeds=[], segmentation_reference=["dice"])
    check("segmentation", example_noise="boundary:1.0:8-16", resolution_protocol=None, noises=["coarse:0.5:ellipse"],
          loss_names=["dice", "anl_ce_er"])
    check("noise", heatmap_rate=0.0, asym_rates=[1.0], idn_rates=[1.0], sym_rates=[], cifar10n_heatmaps=[])
    check("losses", seed=0, num_classes=2, preset_dataset="cifar10", preset_noise_type="idn")
    check("cifar10", short_epochs=None, precision="fp32", tolerance=1.0)


def test_an_unknown_notebook_is_named():
    with pytest.raises(ValueError, match="^no page of a notebook 'intro'; the pages: benchmark, "):
        pages.page("intro", {})


# One bad parameter per notebook, executed: the page must stop in the first code cell after its
# parameters, with the message check_parameters gives.
EXECUTED = {"benchmark": {"loss_names": ["ce", "anl_xx"]}, "dynamics": {"epochs": 0},
            "ablations": {"high_noise": "sym:1.5"}, "claims": {"segmentation_protocol": "tiny"},
            "segmentation": {"noises": ["clean", "blur:1:4"]}, "losses": {"preset_dataset": "mnist"},
            "noise": {"cifar10n_sets": ["aggre", "best"]}, "using": {"noise_spec": "sym:2"},
            "scorecard": {"published_grids": ["cifar10-tiny"]}, "cifar10": {"precision": "fp16"},
            "detection": {"settings": ["sym:0.8", "sym:0.9x"]}, "tuning": {"study": "mnist-tunning"}}


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_an_executed_notebook_stops_in_the_cell_after_its_parameters(notebook, tmp_path):
    jupytext = pytest.importorskip("jupytext")
    papermill = pytest.importorskip("papermill")

    source = jupytext.read(REPOSITORY / "notebooks" / f"{notebook}.py")
    cells = source.cells
    parameters_cell = next(i for i, cell in enumerate(cells) if "parameters" in cell.metadata.get("tags", []))
    first_code = next(i for i in range(parameters_cell + 1, len(cells)) if cells[i].cell_type == "code")
    source.cells = cells[:first_code + 1]  # were the check missing, nothing after this cell runs
    jupytext.write(source, tmp_path / "input.ipynb")
    bad = EXECUTED[notebook]
    # with runs missing from the store, a page that let the bad value through would stop, not train
    changes = {**bad, **({"train_missing": False} if "train_missing" in pages.PAGES[notebook].__dataclass_fields__ else {})}
    expected = error_of(notebook, **bad)
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        papermill.execute_notebook(tmp_path / "input.ipynb", tmp_path / "output.ipynb", parameters=changes,
                                   kernel_name="python3", cwd=str(tmp_path), progress_bar=False, start_timeout=300)
    error = caught.value
    assert error.cell_index == first_code + 1  # papermill inserts the injected parameters after the parameters cell
    assert "from_parameters(globals())" in error.source
    assert (error.ename, error.evalue) == ("ValueError", expected)
    assert expected.startswith(f"parameter {next(iter(bad))}: ") and "\n" not in expected
