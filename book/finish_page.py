"""Finish an executed notebook for the book: its H1 becomes the page's title in _toc.yml where the
entry has one, and every cell tagged ``if:NAME`` gets Jupyter Book's ``remove-cell`` tag when the
page's parameter NAME is empty (None, False, 0, an empty list or string; a parameter the notebook
leaves unset has the default of its page in anl.pages), so that a section no run
was asked for is left out of the page instead of rendered empty. The cells stay in the notebook,
which nbval runs whole.

usage: python book/finish_page.py book/notebooks/PAGE NOTEBOOK.ipynb
"""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from anl import pages

TOC = Path(__file__).resolve().parent.parent / "_toc.yml"
CONDITION = "if:"


def entries(node: object) -> Iterator[dict]:
    """Every dict of the table of contents that names a file, at any depth."""
    if isinstance(node, dict):
        if "file" in node:
            yield node
        for value in node.values():
            yield from entries(value)
    elif isinstance(node, list):
        for item in node:
            yield from entries(item)


def set_title(cells: list[dict], page: str, notebook: str) -> None:
    """The first Markdown cell's H1 set to the page's title in _toc.yml, if its entry has one."""
    titles = {entry["file"]: entry["title"] for entry in entries(yaml.safe_load(TOC.read_text())) if "title" in entry}
    if page not in titles:
        return
    for cell in cells:
        if cell["cell_type"] == "markdown":
            lines = "".join(cell["source"]).split("\n")
            if not lines[0].startswith("# "):
                raise SystemExit(f"{notebook}: the first Markdown cell does not start with an H1 ('# Title')")
            cell["source"] = "\n".join([f"# {titles[page]}", *lines[1:]])
            return


def parameters(cells: list[dict], page: str) -> dict[str, Any]:
    """The parameters book/notebooks/PAGE ran with: the assignments of its "parameters" cell, then
    those papermill injected ("injected-parameters") over them, the page's defaults for those left
    ``...`` (unset), where the page is one of anl.pages.BOOK; a value that is not a literal is ``...``."""
    values: dict[str, Any] = {}
    for tag in ("parameters", "injected-parameters"):
        for cell in cells:
            if tag in cell.get("metadata", {}).get("tags", []):
                for node in ast.parse("".join(cell["source"])).body:
                    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                        try:
                            values[node.targets[0].id] = ast.literal_eval(node.value)
                        except ValueError:  # not a literal (an expression): taken as set
                            values[node.targets[0].id] = ...
    name = Path(page).name
    if name in pages.BOOK:
        return {**values, **pages.page(pages.BOOK[name].notebook, values).parameters()}
    return values


def hide_unasked_sections(cells: list[dict], page: str, notebook: str) -> None:
    """Tag "remove-cell" every cell tagged "if:NAME" whose parameter NAME is empty; SystemExit for
    a NAME that is not a parameter of the page."""
    values = parameters(cells, page)
    for cell in cells:
        tags = cell.get("metadata", {}).get("tags", [])
        for name in (tag[len(CONDITION):] for tag in tags if tag.startswith(CONDITION)):
            if name not in values:
                raise SystemExit(f"{notebook}: a cell is tagged {CONDITION}{name}, but the page has no parameter "
                                 f"{name}; its parameters: {', '.join(values)}")
            if not values[name] and "remove-cell" not in tags:
                tags.append("remove-cell")


def main(page: str, notebook: str) -> None:
    path = Path(notebook)
    content = json.loads(path.read_text())
    set_title(content["cells"], page, notebook)
    hide_unasked_sections(content["cells"], page, notebook)
    path.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
