"""Internal: the README's results tables: each block between ``<!-- results: GRID -->`` and
``<!-- end results -->`` holds the recorded runs of the named classification grid GRID, written
from the run records by :func:`refresh_readme` (``python -m anl readme``), never by hand."""

from __future__ import annotations

import os
import re

from anl import experiments, losses
from anl.report.labels import plain
from anl.report.published import PUBLISHED_LABEL, published_note
from anl.report.runs import recorded_runs
from anl.report.tables import markdown_table, published_comparison
from anl.results import ResultsStore
from anl.train import RunConfig

START, END = "<!-- results: ", "<!-- end results -->"
# a block's body never holds another start: an unterminated block cannot swallow the next one
RESULTS_BLOCK = re.compile(rf"(?P<start>{START}(?P<grid>[^ ]+) -->\n)(?:(?!{START}).)*?(?P<end>{END})", re.S)


def grid_results(name: str, results_dir: str | os.PathLike[str] | None = None) -> str:
    """The recorded runs of the named grid ``name`` as Markdown: how many of its runs are recorded,
    one row per (noise, loss), the losses in the registry's order (CE first, the ANL losses last),
    with our last- and best-epoch test accuracy, the wrong labels fitted and the seeds
    (:func:`anl.report.tables.published_comparison`; its published columns only where the grid has
    a published number), and the protocol read from the records."""
    configs = experiments.grid(name)
    if any(not isinstance(config, RunConfig) for config in configs):
        classification = [grid for grid in experiments.GRIDS
                          if all(isinstance(config, RunConfig) for config in experiments.grid(grid))]
        raise ValueError(f"grid {name!r} is not a classification grid; a results block takes one of "
                         f"{', '.join(classification)}")
    runs, missing = recorded_runs(configs, results_dir)
    status = f"Grid `{name}`: {len(configs) - len(missing)} of {len(configs)} runs recorded."
    if runs is None:
        return status
    table = published_comparison(runs.summaries, sorted(configs, key=lambda config: losses.LOSSES.index(config.loss)))
    note = published_note(configs)
    if not note:
        table = table.drop(columns=[PUBLISHED_LABEL, "ours − published"])
    text = f"{status}\n\n{markdown_table(table)}\n\n" + (f"{note}\n\n" if note else "")
    return plain(text + runs.protocol())


def refresh_readme(text: str, results_dir: str | os.PathLike[str] | None = None) -> str:
    """``text`` with every results block rewritten from the records of the store at ``results_dir``;
    ValueError naming an unknown grid, a store without runs/ (rather than tables of no runs), or
    when ``text`` has no block or a start without its end."""
    ResultsStore(results_dir).require_runs()
    starts, ends = text.count(START), text.count(END)
    if starts == 0 or starts != ends:
        raise ValueError(f"expected results blocks ({START}GRID --> ... {END}), found {starts} starts "
                         f"and {ends} ends")

    def rewritten(block: re.Match[str]) -> str:
        return f"{block['start']}{grid_results(block['grid'], results_dir)}\n{block['end']}"
    return RESULTS_BLOCK.sub(rewritten, text)
