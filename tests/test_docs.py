"""The guide's tables that mirror the code are what the code generates today (a new option, strategy, model or
module without a regenerated page fails here), and the README's and studies' links point at files that exist.
The site itself builds with broken links as errors in scripts/test.sh (mkdocs build --strict)."""

from __future__ import annotations

import importlib.util
import re

from tests.conftest import ROOT


def _generator():
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_tables_in_the_guide_match_the_code():
    generate = _generator()
    pages = sorted((ROOT / "docs").glob("*.md"))
    blocks = {m["name"] for page in pages for m in generate.BLOCK.finditer(page.read_text())}
    assert blocks == set(generate.GENERATORS), blocks  # every generator has a home, every block a generator
    stale = [page.name for page in pages if generate.generated(page.read_text()) != page.read_text()]
    assert not stale, f"run python docs/generate.py: {stale} differ from what the code generates"


def test_relative_links_of_the_readmes_resolve():
    broken = []
    for readme in [ROOT / "README.md", *sorted((ROOT / "experiments").glob("*/README.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme.read_text()):
            if not target.startswith(("http://", "https://")) and not (readme.parent / target).exists():
                broken.append(f"{readme.relative_to(ROOT)} -> {target}")
    assert not broken, broken
