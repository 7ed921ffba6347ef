"""The package's dependencies point one way: no import circle among anl's modules (imports inside
functions included), every module in a layer (library, training, experiments, book helpers,
command line) importing none above it, and the command line imported by ``anl.__main__`` alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "anl"


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The modules of ``modules`` that the source at ``path`` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from anl import losses" imports the module anl.losses; "from anl.x import y" imports anl.x
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != "anl":
                found.add(name)
    return found


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Each module of ``package`` -> the package's modules it imports."""
    names = {path: module_name(path, package) for path in sorted(package.rglob("*.py"))}
    modules = set(names.values())
    return {name: imported_modules(path, modules) - {name} for path, name in names.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` as [a, b, ..., a], or None (depth-first search)."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_checker_finds_a_circle_through_a_function_level_import(tmp_path) -> None:
    package = tmp_path / "anl"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from anl.b import f\n")
    (package / "b.py").write_text("def f():\n    from anl import c\n")
    (package / "c.py").write_text("import anl.a\n")
    assert find_cycle(import_graph(package)) == ["anl.a", "anl.b", "anl.c", "anl.a"]
    (package / "c.py").write_text("import numpy\n")
    assert find_cycle(import_graph(package)) is None


def test_no_import_circle_inside_the_package() -> None:
    graph = import_graph()
    assert "anl.losses" in graph and graph["anl.train"]  # the graph is read
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


@pytest.mark.parametrize("module", ["anl.cli"])
def test_the_command_line_is_imported_by_main_alone(module: str) -> None:
    importers = {name for name, targets in import_graph().items() if module in targets}
    assert importers == {"anl.__main__"}


#: The layers, bottom up: a module imports only modules of its own layer or below. Every module of
#: the package is in one (a new module fails the test below until it is placed).
LAYERS: dict[str, tuple[str, ...]] = {
    "library": ("anl", "anl._torchvision", "anl.atomic", "anl.data", "anl.detection", "anl.losses",
                "anl.mask_noise", "anl.models", "anl.noise", "anl.results", "anl.run_claims"),
    "training": ("anl.engine", "anl.compiled", "anl.train", "anl.batched", "anl.segmentation"),
    "experiments": ("anl.experiments", "anl.cluster", "anl.bench", "anl.tune"),
    "book helpers": ("anl.pages", "anl.scorecard", "anl.report"),
    "command line": ("anl.cli", "anl.__main__"),
}


def layer_of(module: str) -> int | None:
    """The index in LAYERS of ``module``'s layer (a subpackage's modules share its layer), None if in none."""
    for index, members in enumerate(LAYERS.values()):
        if module in members or any(module.startswith(f"{member}.") for member in members if member != "anl"):
            return index
    return None


def test_every_module_has_a_layer_and_imports_none_above_it() -> None:
    graph = import_graph()
    unplaced = [module for module in graph if layer_of(module) is None]
    assert not unplaced, f"modules in no layer of LAYERS: {unplaced}"
    upward = [f"{module} ({list(LAYERS)[layer_of(module)]}) imports {target} ({list(LAYERS)[layer_of(target)]})"
              for module, targets in graph.items() for target in targets if layer_of(target) > layer_of(module)]
    assert not upward, "imports pointing up: " + "; ".join(upward)


def test_the_layer_check_sees_an_import_pointing_up(tmp_path) -> None:
    package = tmp_path / "anl"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "losses.py").write_text("def f():\n    from anl.train import g\n")
    (package / "train.py").write_text("import anl.losses\n")
    graph = import_graph(package)
    assert [(module, target) for module, targets in graph.items() for target in targets
            if layer_of(target) > layer_of(module)] == [("anl.losses", "anl.train")]
