"""Set the H1 of an executed notebook to the page's title in _toc.yml, if the entry has one.

usage: python book/page_title.py book/notebooks/PAGE NOTEBOOK.ipynb
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml

TOC = Path(__file__).resolve().parent.parent / "_toc.yml"


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


def main(page: str, notebook: str) -> None:
    titles = {entry["file"]: entry["title"] for entry in entries(yaml.safe_load(TOC.read_text())) if "title" in entry}
    if page not in titles:
        return
    path = Path(notebook)
    content = json.loads(path.read_text())
    for cell in content["cells"]:
        if cell["cell_type"] == "markdown":
            lines = "".join(cell["source"]).split("\n")
            if not lines[0].startswith("# "):
                raise SystemExit(f"{notebook}: the first Markdown cell does not start with an H1 ('# Title')")
            cell["source"] = "\n".join([f"# {titles[page]}", *lines[1:]])
            break
    path.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
