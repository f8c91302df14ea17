"""The product/lab boundary and the package's import graph.

* the shipped package ``musicapp`` never imports the lab (``musicapp_lab``), at module level or
  inside functions;
* the core (everything but ``musicapp.gui``) never imports Qt or pyqtgraph;
* there are no import cycles between the product's modules (module-level imports).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ROOT / "musicapp"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, top_level_only: bool) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: list[str] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _product_files() -> list[Path]:
    return sorted(PRODUCT.rglob("*.py"))


def test_product_never_imports_the_lab() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _product_files()
        for name in _imports(path, top_level_only=False)
        if name == "musicapp_lab" or name.startswith("musicapp_lab.")
    ]
    assert offenders == []
    text_hits = [str(p.relative_to(ROOT)) for p in _product_files() if "musicapp_lab" in p.read_text()
                 and p.name != "__init__.py" and "cli" not in p.parts]
    assert text_hits == [], "product modules mention the lab (importlib tricks?)"


def test_core_never_imports_qt() -> None:
    qt = ("PySide6", "pyqtgraph", "shiboken6")
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _product_files()
        if "gui" not in path.relative_to(PRODUCT).parts
        for name in _imports(path, top_level_only=False)
        if name.split(".")[0] in qt
    ]
    assert offenders == []


def _graph(files: list[Path], known: set[str]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in files:
        mod = _module_name(path)
        deps = set()
        for name in _imports(path, top_level_only=True):
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != mod:
                deps.add(name)
        graph[mod] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


@pytest.mark.parametrize("package", ["musicapp", "lab/musicapp_lab"])
def test_no_import_cycles_between_modules(package: str) -> None:
    base = ROOT / package
    files = sorted(base.rglob("*.py"))
    root = ROOT if package == "musicapp" else ROOT / "lab"
    known = set()
    for p in files:
        rel = p.relative_to(root).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        known.add(".".join(parts))
    graph: dict[str, set[str]] = {}
    for path in files:
        rel = path.relative_to(root).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        mod = ".".join(parts)
        deps = set()
        for name in _imports(path, top_level_only=True):
            while name and name not in known:
                name = name.rpartition(".")[0]
            # a package's __init__ importing its own submodules is not a cycle worth flagging
            if name and name != mod and not name.startswith(mod + "."):
                deps.add(name)
        graph[mod] = deps
    assert _cycles(graph) == []
