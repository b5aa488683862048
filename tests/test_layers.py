"""The house's shape: doctests run, imports go one way (ground floor, stages, shells), and
no file grows past MAX_LINES (the library, and the tests and benchmarks beside it).

Layers, lowest first: `common` (what every stage shares), `ingest`, `index`, `rag`, `eval`,
then the shells (`shell`, and `app.py` on top). A module may import its own layer or a lower
one, never a higher one; so no import circle can run between layers. Imports inside
functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["common", "ingest", "index", "rag", "eval", "shell", "app"]
MAX_LINES = 300
# Known and still to fix; each entry is a strict xfail: fixed, it must leave here.
OVERSIZE: set[str] = set()
WRONG_DOCTESTS: set[str] = set()


def _known(ids: list[str], bad: set[str], why: str) -> list:
    return [pytest.param(i, marks=pytest.mark.xfail(strict=True, reason=why)) if i in bad
            else i for i in ids]


def _sources() -> list[Path]:
    return [p for layer in LAYERS[:-1] for p in sorted((ROOT / layer).glob("*.py"))] + [
        ROOT / "app.py"]


def _sized() -> list[Path]:
    """Files under the size rule: the library's, then tests/*.py and bench/*.py."""
    return _sources() + [p for folder in ("tests", "bench")
                         for p in sorted((ROOT / folder).glob("*.py"))]


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    return ".".join(rel.parts).removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return {n for n in names if n.split(".")[0] in LAYERS}


@pytest.mark.parametrize("path", _sources(), ids=_module)
def test_imports_go_down_only(path: Path) -> None:
    own = LAYERS.index(_module(path).split(".")[0])
    upward = sorted(n for n in _imports(path) if LAYERS.index(n.split(".")[0]) > own)
    assert not upward, f"{_module(path)} imports a higher layer: {upward}"


def test_no_import_circle_within_a_layer() -> None:
    graph = {_module(p): {n for n in _imports(p)} for p in _sources()}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join([*trail, node, nxt]))
            if nxt in graph and not state.get(nxt):
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in sorted(graph):
        if not state.get(node):
            visit(node, [])


@pytest.mark.parametrize("name", _known([_module(p) for p in _sized()], OVERSIZE,
                                         "over 300 lines: to split"))
def test_source_files_stay_small(name: str) -> None:
    path = ROOT / (name.replace(".", "/") + ".py") if name != "app" else ROOT / "app.py"
    if not path.is_file():
        path = ROOT / name.replace(".", "/") / "__init__.py"
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines (keep under {MAX_LINES})"


DOCTESTED = sorted(_module(p) for p in _sources() if ">>>" in p.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", _known(DOCTESTED, WRONG_DOCTESTS,
                                         "illustrative examples that do not run as written"))
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, result
