"""Imports run one way: every ``auglab`` import in ``src/`` (module level or inside a function) goes to the
importing package's own layer or one below it, as docs/architecture.md's layers block states them."""

from __future__ import annotations

import ast
import re

from tests.conftest import ROOT

SRC = ROOT / "src"


def layers() -> dict[str, int]:
    """Package (or root module) -> its layer, 0 at the bottom, from docs/architecture.md."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    block = re.search(r"<!-- layers: bottom to top -->\n(.*?)<!-- /layers -->", text, re.S)
    assert block, "docs/architecture.md has no layers block"
    return {name: level for level, line in enumerate(block[1].strip().splitlines()) for name in line.split()}


def home(path) -> str:
    """``src/auglab/data/search.py`` -> ``data``; ``src/auglab/train.py`` -> ``train``; plugins -> hydra_plugins."""
    parts = path.relative_to(SRC).parts
    if parts[0] == "hydra_plugins":
        return "hydra_plugins"
    return parts[1].removesuffix(".py") if len(parts) > 1 else parts[0]


def imported(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, the auglab package imported) for every import in the file."""
    found = []
    for node in ast.walk(tree):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [])
        for name in names:
            parts = name.split(".")
            if parts[0] == "auglab" and len(parts) > 1:
                found.append((node.lineno, parts[1]))
    return found


def test_every_import_runs_down_a_layer():
    level = layers()
    upward, unplaced = [], set()
    for path in sorted(SRC.rglob("*.py")):
        mine = home(path)
        if mine == "__init__":
            continue  # the package root's own docstring and version
        for line, target in imported(ast.parse(path.read_text())):
            if mine not in level or target not in level:
                unplaced |= {p for p in (mine, target) if p not in level}
            elif level[target] > level[mine]:
                upward.append(f"{path.relative_to(ROOT)}:{line} ({mine}) imports {target}")
    assert not unplaced, f"packages missing from docs/architecture.md's layers block: {sorted(unplaced)}"
    assert not upward, "imports that run up a layer:\n" + "\n".join(upward)


def test_the_layers_block_names_every_package():
    packages = {p.name for p in (SRC / "auglab").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages - {"conf"} <= set(layers()), sorted(packages - set(layers()))
