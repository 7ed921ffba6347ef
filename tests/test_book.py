"""The book: built from the executed notebooks (``make notebooks``) with warnings as errors, every
page of _toc.yml rendered, notebook pages with their figures and without errors, stderr or raw TeX,
and MathJax served locally (no CDN)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason="the book extras are not installed (pip install -e '.[book]')")

REPOSITORY = Path(__file__).resolve().parent.parent
MATHJAX = "_static/mathjax/tex-svg.js"
CDN = re.compile(r"https?://(cdn\.|[\w.-]*jsdelivr|unpkg\.com|cdnjs|[\w.-]*googleapis|polyfill\.io)", re.I)
RAW_TEX = re.compile(r"\$\$|\$[^$<>\n]*\\[a-zA-Z]+[^$<>\n]*\$")


def toc_files() -> list[str]:
    """Every file named in _toc.yml (root, chapters and sections, in order)."""
    toc = yaml.safe_load((REPOSITORY / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        walk(part["chapters"])
    return files


NOTEBOOK_PAGES = [name for name in toc_files() if name.startswith("book/notebooks/")]


def parameters_cell(name: str) -> dict:
    """The values of the cell tagged ``parameters`` in notebooks/NAME.py."""
    source = (REPOSITORY / "notebooks" / f"{name}.py").read_text()
    cell = re.search(r'^# %% tags=\["parameters"\]\n(.*?)(?=^# %%)', source, re.S | re.M)
    assert cell, f"notebooks/{name}.py has no cell tagged parameters"
    values: dict = {}
    exec(cell.group(1), {}, values)
    return values


def book_page(page: str):
    """The anl.pages page that book/notebooks/PAGE.ipynb executes."""
    from anl import pages

    return pages.BOOK[page]


def page_source(page: str) -> str:
    """The notebook a page executes."""
    return book_page(page).notebook


PAGES = [name.removeprefix("book/notebooks/") for name in NOTEBOOK_PAGES]


def test_the_book_pages_are_those_of_the_table_of_contents():
    from anl import pages

    assert sorted(pages.BOOK) == sorted(PAGES)
    assert not list((REPOSITORY / "notebooks").glob("*.yml")), "a variant of a page belongs in anl.pages.BOOK"


def test_the_api_reference_documents_every_public_module():
    import pkgutil

    import anl

    api = (REPOSITORY / "book" / "api.md").read_text()
    # private modules, and the command line (documented by its --help)
    modules = [module.name for module in pkgutil.walk_packages(anl.__path__, "anl.")
               if not module.name.rpartition(".")[2].startswith("_") and module.name != "anl.cli"]
    missing = [name for name in modules if f".. automodule:: {name}\n" not in api]
    assert not missing, f"book/api.md has no automodule section for {missing}"


def test_the_api_page_tables_cover_the_package():
    """book/_ext/api_tables.py: one row per registered loss and per noise kind, classes that exist,
    and the API page names only tables it has."""
    sys.path.insert(0, str(REPOSITORY / "book" / "_ext"))
    try:
        import api_tables
    finally:
        sys.path.remove(str(REPOSITORY / "book" / "_ext"))
    from anl import losses, noise

    header, rows = api_tables.losses_table()
    assert [row[1] for row in rows] == [f"``{key}``" for key in losses.LOSSES + losses.PIXEL_LOSSES]
    classes = {name for row in rows for name in re.findall(r":class:`~anl\.losses\.(\w+)`", row[2])}
    assert classes and all(isinstance(getattr(losses, name), type) for name in classes)
    assert all(len(row) == len(header) for row in rows)
    _, specs = api_tables.noise_specs_table()
    assert len(specs) == len(noise.NOISE_KINDS)
    named = re.findall(r"^\.\. anl-table:: (\S+)$", (REPOSITORY / "book" / "api.md").read_text(), re.M)
    assert sorted(named) == sorted(api_tables.TABLES)


def test_default_parameters_read_only_runs_that_make_results_trains():
    """Executing the pages with their parameters must never train: every run they name is in a
    grid of anl.pages.book_grids(), which `make results` trains and results/ holds; the GPU's queue
    and the full-resolution segmentation protocol are no page's."""
    from anl import experiments, pages

    grids = pages.book_grids()
    assert "gpu-queue" not in grids and "isic-full" not in grids
    trained = {config.key for name in grids for config in experiments.grid(name)}
    with_runs = {name for name, page in pages.PAGES.items() if hasattr(page, "runs")}
    wanted = {page: [config for entries in book_page(page).runs().values() for config in pages.configs(entries)]
              for page in PAGES if page_source(page) in with_runs}
    assert with_runs <= {page_source(page) for page in wanted}
    for page, configs in wanted.items():
        missing = [f"{c.loss} {c.noise} seed {c.seed} {c.loss_overrides}" for c in configs
                   if c.key not in trained]
        assert not missing, f"{page}'s parameters name runs no grid trains: {missing[:5]}"


def skip_or_fail(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    """The book built into a temporary folder; skips (fails in CI) when notebooks were not executed."""
    missing = [name for name in NOTEBOOK_PAGES if not (REPOSITORY / f"{name}.ipynb").is_file()]
    if missing:
        skip_or_fail(f"executed notebooks missing ({', '.join(missing)}): run `make notebooks` first")
    if not (REPOSITORY / "book" / MATHJAX).is_file():
        skip_or_fail("local MathJax missing: run `make install`")
    output = tmp_path_factory.mktemp("book")
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(REPOSITORY), "-W", "-n",
               "--keep-going", "--path-output", str(output)]
    build = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, f"book build failed:\n{build.stdout[-4000:]}\n{build.stderr[-4000:]}"
    return output / "_build" / "html"


def page(html: Path, name: str) -> str:
    return (html / f"{name}.html").read_text()


def test_every_toc_page_is_built(html):
    assert (html / "index.html").is_file()
    missing = [name for name in toc_files() if not (html / f"{name}.html").is_file()]
    assert not missing, f"pages of _toc.yml not built: {missing}"


TABLES_ONLY = ("claims", "scorecard", "using")  # sources of pages made of tables and text, no figure
TABLE_PAGES = {f"book/notebooks/{page}" for page in PAGES if page_source(page) in TABLES_ONLY}
# sources of pages that show runs as they land: no figure until the first of them is recorded
AS_RUNS_LAND = ("cifar10", "tuning")


@pytest.mark.parametrize("name", [name for name in NOTEBOOK_PAGES if name not in TABLE_PAGES])
def test_notebook_pages_show_their_figures(html, name):
    notebook = json.loads((REPOSITORY / f"{name}.ipynb").read_text())
    outputs = [output for cell in notebook["cells"] if cell["cell_type"] == "code" for output in cell["outputs"]]
    figures = sum("image/png" in output.get("data", {}) for output in outputs)
    waiting = page_source(name.rpartition("/")[2]) in AS_RUNS_LAND and "Waits for the first recorded run" in str(outputs)
    assert figures >= 1 or waiting, f"{name} has no figure"
    text = page(html, name)
    sources = re.findall(r'<img[^>]+src="([^"]+)"', text)
    rendered = [src for src in sources if (html / name).parent.joinpath(src).resolve().is_file()]
    assert len(rendered) >= figures, f"{name}: {figures} figures in the notebook, {len(rendered)} images on the page"


@pytest.mark.parametrize("name", NOTEBOOK_PAGES)
def test_notebook_pages_have_no_errors_or_stderr(html, name):
    notebook = json.loads((REPOSITORY / f"{name}.ipynb").read_text())
    errors = [output["ename"] for cell in notebook["cells"] if cell["cell_type"] == "code"
              for output in cell["outputs"] if output["output_type"] == "error"]
    assert not errors, f"{name} has error outputs: {errors}"
    text = page(html, name)
    assert "Traceback" not in text
    assert 'class="output stderr' not in text, f"{name} shows stderr output (warnings or progress bars)"


@pytest.mark.parametrize("name", toc_files())
def test_math_is_rendered_by_the_local_mathjax(html, name):
    text = page(html, name)
    if 'class="math' in text:
        local = re.escape(os.path.relpath(html / MATHJAX, (html / name).parent))
        assert re.search(f'<script[^>]+src="{local}(\\?v=\\w+)?"', text), f"{name}: no local MathJax"
    visible = re.sub(r"<(script|style|pre|code)\b.*?</\1>|<(span|div) class=\"math[^\"]*\">.*?</\2>", "", text,
                     flags=re.S)
    assert not RAW_TEX.search(visible), f"{name}: raw TeX {RAW_TEX.search(visible).group()!r}"


def test_math_pages_exist_and_no_page_uses_a_cdn(html):
    assert 'class="math' in page(html, "book/method") and MATHJAX in page(html, "book/method")
    offenders = {path.relative_to(html).as_posix(): CDN.search(path.read_text(errors="ignore")).group()
                 for path in html.rglob("*") if path.suffix in (".html", ".js", ".css") and "mathjax" not in path.parts
                 and CDN.search(path.read_text(errors="ignore"))}
    assert not offenders, f"pages or assets reference a CDN: {offenders}"


def test_citations_resolve_to_the_bibliography(html):
    bibliography = page(html, "book/bibliography")
    for title in ("Active Negative Loss Functions for Learning with Noisy Labels",
                  "Normalized Loss Functions for Deep Learning with Noisy Labels"):
        assert title in bibliography, title
    links = re.findall(r'href="bibliography\.html#(id\d+)"', page(html, "book/method"))
    assert links and all(f'id="{anchor}"' in bibliography for anchor in links), "citations do not link to entries"
