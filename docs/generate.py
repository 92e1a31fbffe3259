"""The guide's tables that mirror the code, generated from it: the config groups and their options, the
strategies per data kind with their stages, the models per data kind, and the source layout. Each sits in
a page between ``<!-- generated: NAME -->`` and ``<!-- /generated -->``.

    .venv/bin/python docs/generate.py            # rewrite the blocks
    .venv/bin/python docs/generate.py --check    # exit 1 naming the pages whose blocks are out of date

``tests/test_docs.py`` runs the check, so a new option, strategy, model or module that the pages do not
show fails the suite until this script is run.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from functools import cache
from pathlib import Path

from omegaconf import OmegaConf

from auglab.augment.stages import STAGES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w-]+) -->\n).*?(<!-- /generated -->)", re.S)


def _comment(path: Path) -> str:
    """The first sentence of a YAML file's leading comment (command lines skipped)."""
    words = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            if words:
                break
            continue
        text = line.lstrip("#").strip()
        if line.startswith("# @package") or text.startswith(("auglab-", "bash ", "python ")) or line.startswith("#  "):
            continue
        if ": auglab-" in text:  # "What it is: auglab-train ...": the command is not part of the sentence
            words.append(text.split(": auglab-")[0] + ".")
            break
        words.append(text)
    joined, sentence = " ".join(words), None
    for end in re.finditer(r"\.(\s|$)", joined):  # the first full stop that ends a sentence
        if not re.search(r"(\bal|e\.g|i\.e|\bvs|\bcf|[0-9A-Z])$", joined[:end.start()]):
            sentence = joined[:end.start() + 1]
            break
    sentence = sentence or joined
    return sentence if len(sentence) <= 160 else sentence[:157].rsplit(" ", 1)[0] + " ..."


@cache
def _composed(group: str, name: str):
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    import auglab.config  # noqa: F401  (resolvers and the strategy schema)

    if not GlobalHydra.instance().is_initialized():
        initialize_config_module(config_module="auglab.conf", version_base="1.3")
    return compose(config_name="train", overrides=[f"{group}={name}"])[group]


def config_groups() -> str:
    from auglab.config.catalogue import groups, options

    lines = ["| group | options |", "|---|---|"]
    for group in groups():
        names = [f"`{o}`" for o in options(group)]
        lines.append(f"| `{group}` | {', '.join(names)} |")
    return "\n".join(lines) + "\n"


def _kinds() -> list[str]:
    from auglab.config.catalogue import CONF_DIR, options

    found = {k for name in options("augment") for k in OmegaConf.load(CONF_DIR / "augment" / f"{name}.yaml")
             .get("kinds", [])}
    return sorted(found)


def strategies() -> str:
    from auglab.config.catalogue import CONF_DIR, options

    lines = ["| strategy | data kinds | stages | what it is |", "|---|---|---|---|"]
    for name in options("augment"):
        cfg = _composed("augment", name)
        stages = [s for s in STAGES if cfg.get(s)]
        lines.append(f"| `{name}` | {', '.join(cfg.get('kinds', [])) or 'all'} | {', '.join(stages) or '–'} | "
                     f"{_comment(CONF_DIR / 'augment' / f'{name}.yaml')} |")
    by_kind = [f"- **{kind}**: {', '.join(f'`{s}`' for s in _strategies_for(kind))}" for kind in _kinds()]
    return "\n".join(by_kind) + "\n\n" + "\n".join(lines) + "\n"


def _strategies_for(kind: str) -> list[str]:
    from auglab.config.catalogue import strategies_for

    return strategies_for(kind)


def models() -> str:
    from hydra.utils import get_class

    from auglab.config.catalogue import CONF_DIR, model_target, options

    lines = ["| model | class | data kinds | what it is |", "|---|---|---|---|"]
    for name in options("model"):
        target = model_target(name)
        kinds = getattr(get_class(target), "data_kinds", ())
        lines.append(f"| `{name}` | `{target.removeprefix('auglab.')}` | {', '.join(kinds)} | "
                     f"{_comment(CONF_DIR / 'model' / f'{name}.yaml')} |")
    return "\n".join(lines) + "\n"


def layout() -> str:
    """Every module under src/ with the first line of its docstring."""
    lines = ["| module | what it is |", "|---|---|"]
    for path in sorted((ROOT / "src").rglob("*.py")):
        if path.name == "__init__.py" and path.parent.name != "report":
            continue
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        first = " ".join(doc.split("\n\n")[0].split())
        first = first[:180] + " ..." if len(first) > 180 else first
        lines.append(f"| `{path.relative_to(ROOT / 'src')}` | {first.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


GENERATORS = {"config-groups": config_groups, "strategies": strategies, "models": models, "layout": layout}


def generated(text: str) -> str:
    def rebuild(match: re.Match) -> str:
        name = match["name"]
        if name not in GENERATORS:
            raise SystemExit(f"unknown generated block {name!r}; known: {', '.join(GENERATORS)}")
        return match[1] + GENERATORS[name]() + match[3]
    return BLOCK.sub(rebuild, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    stale = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text()
        new = generated(text)
        if new != text:
            stale.append(page.name)
            if not args.check:
                page.write_text(new)
    if args.check and stale:
        print(f"generated tables out of date in docs/{', docs/'.join(stale)}: run python docs/generate.py",
              file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
