"""The API page's tables, drawn from the package so they cannot drift from it: ``.. anl-table:: NAME``
(inside an ``{eval-rst}`` block) renders one of TABLES as a reStructuredText list-table."""

from __future__ import annotations

import re
from collections.abc import Callable

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from sphinx.application import Sphinx

Rows = tuple[list[str], list[list[str]]]  # header, rows; cells are reStructuredText


def _text(value: str) -> str:
    """Plain text as reStructuredText: markup characters escaped; a lone "-" stays a dash, not a list."""
    return re.sub(r"([\\*`_|])", r"\\\1", value) if value != "-" else "\\-"


def _literal(value: str) -> str:
    return f"``{value}``"


def _formula(loss: object) -> str:
    """The first sentence of a data term's docstring, its formula, without inline-literal marks."""
    paragraph = " ".join((type(loss).__doc__ or "").strip().split("\n\n")[0].split())
    return paragraph.split(". ")[0].rstrip(".").replace("``", "")


def _class(loss: object) -> str:
    return f":class:`~anl.losses.{type(loss).__name__}`"


def losses_table() -> Rows:
    """Each registered loss: its name, its build() key, its data term and the data term's formula
    (of each part of a weighted pair); CIFAR-10's preset builds it."""
    from anl import losses

    rows = []
    for key in losses.LOSSES + losses.PIXEL_LOSSES:
        term = losses.build(key, "cifar10", "sym").data_term
        if isinstance(term, losses.WeightedSum):
            parts = f"α · {_class(term.active)} + β · {_class(term.passive)}"
            formula = f"{_literal(_formula(term.active))}; {_literal(_formula(term.passive))}"
        else:
            parts, formula = _class(term), _literal(_formula(term))
        rows.append([_text(losses.display_name(key)), _literal(key), parts, formula])
    return ["loss", "build(key)", "data term", "formula"], rows


def presets_table() -> Rows:
    """anl.report.preset_table: the hyperparameters build(loss, dataset) takes."""
    from anl.report import tables

    frame = tables.preset_table()
    return ([_text(frame.index.name or "loss"), *map(_text, frame.columns)],
            [[_text(str(index)), *(_text(str(cell)) for cell in row)] for index, row in frame.iterrows()])


def noise_specs_table() -> Rows:
    """anl.noise.NOISE_GRAMMAR: each label-noise spec and its meaning."""
    from anl import noise

    return ["spec", "meaning"], [[_literal(form), _text(meaning)] for form, meaning in noise.NOISE_GRAMMAR.values()]


TABLES: dict[str, Callable[[], Rows]] = {
    "losses": losses_table, "presets": presets_table, "noise-specs": noise_specs_table}


def list_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """reStructuredText list-table lines with a header row."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines += [f"   * - {row[0]}", *(f"     - {cell}" for cell in row[1:])]
    return lines


class AnlTable(Directive):
    """``.. anl-table:: NAME``, NAME one of TABLES."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        if name not in TABLES:
            raise self.error(f"unknown anl-table {name!r}; valid: {', '.join(TABLES)}")
        container = nodes.container()
        self.state.nested_parse(StringList(list_table(*TABLES[name]()), source=f"anl-table {name}"),
                                self.content_offset, container)
        return container.children


def setup(app: Sphinx) -> dict[str, bool]:
    app.add_directive("anl-table", AnlTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
