"""The README's results tables: each block between ``<!-- results: GRID -->`` and
``<!-- end results -->`` holds the recorded runs of the named classification grid GRID, written
from the run records by :func:`refresh_readme` (``python -m anl readme``), never by hand."""

from __future__ import annotations

import os
import re

from anl import experiments, losses
from anl.report.published import PUBLISHED_LABEL, PUBLISHED_SOURCE
from anl.report.runs import recorded_runs
from anl.report.tables import markdown_table, noise_cells, published_comparison

BLOCK = re.compile(r"(?P<start><!-- results: (?P<grid>[^ ]+) -->\n).*?(?P<end><!-- end results -->)", re.S)


def plain(text: str) -> str:
    """``text`` with the book's no-break spaces and hyphens as plain ones, for a README read as text."""
    return text.replace("\u00a0", " ").replace("\u2011", "-")


def grid_results(name: str, results_dir: str | os.PathLike[str] | None = None) -> str:
    """The recorded runs of the named grid ``name`` as Markdown: how many of its runs are recorded,
    one row per (noise, loss), the losses in the registry's order (CE first, the ANL losses last),
    with our last- and best-epoch test accuracy, the wrong labels fitted and the seeds
    (:func:`anl.report.tables.published_comparison`; its published columns only where the grid has
    a published number), and the protocol read from the records."""
    configs = experiments.grid(name)
    runs, missing = recorded_runs(configs, results_dir)
    status = f"Grid `{name}`: {len(configs) - len(missing)} of {len(configs)} runs recorded."
    if runs is None:
        return status
    cells = noise_cells(sorted(configs, key=lambda config: losses.LOSSES.index(config.loss)))
    table = published_comparison(runs.summaries, cells, configs[0].dataset)
    published = (table[PUBLISHED_LABEL] != "–").any()
    if not published:
        table = table.drop(columns=[PUBLISHED_LABEL, "ours − published"])
    text = f"{status}\n\n{markdown_table(table)}\n\n"
    if published:
        text += f"Published: {PUBLISHED_SOURCE}.\n\n"
    return plain(text + runs.protocol())


def refresh_readme(text: str, results_dir: str | os.PathLike[str] | None = None) -> str:
    """``text`` with every results block rewritten from the records of the store at ``results_dir``;
    ValueError naming an unknown grid."""
    def rewritten(block: re.Match[str]) -> str:
        return f"{block['start']}{grid_results(block['grid'], results_dir)}\n{block['end']}"
    return BLOCK.sub(rewritten, text)
