"""Type checks of every ``_target_`` node's arguments against the callable's annotations, before
anything is built: ``magnitude=abc`` fails in one line naming the option, not deep inside a transform.

Only plain annotations are checked (int, float, bool, str, None and unions of them); anything richer
is left to the callable itself.
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf

from auglab.errors import AuglabError, one_line

PLAIN = (int, float, bool, str, type(None))


def _plain_types(annotation: Any) -> tuple[type, ...] | None:
    """The plain types an annotation admits, or None when it admits anything richer."""
    if annotation in PLAIN:
        return (annotation,)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = typing.get_args(annotation)
        return members if all(m in PLAIN for m in members) else None
    return None


def _fits(value: Any, allowed: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in allowed
    if isinstance(value, int):
        return int in allowed or float in allowed
    return any(isinstance(value, t) for t in allowed if t is not bool)


def _hints(target: Any) -> dict[str, Any]:
    fn = target.__init__ if inspect.isclass(target) else target
    try:
        return typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: check nothing rather than guess
        return {}


def check_node(node: dict[str, Any], where: str) -> None:
    try:
        target = get_object(node["_target_"])
    except Exception as err:
        raise AuglabError(f"{where}._target_={node['_target_']} cannot be imported: {one_line(err)}") from err
    hints = _hints(target)
    for key, value in node.items():
        if key.startswith("_") or key not in hints or isinstance(value, dict | list):
            continue
        allowed = _plain_types(hints[key])
        if allowed is not None and not _fits(value, allowed):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
            raise AuglabError(f"{where}.{key}={value!r}: expected {names}")


def check_arguments(cfg: DictConfig) -> None:
    """Walk the resolved config (Hydra's own node excluded) and check every ``_target_`` node."""
    resolved = OmegaConf.to_container(cfg, resolve=True)
    resolved.pop("hydra", None)

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "_target_" in node:
                check_node(node, where)
            for key, value in node.items():
                walk(value, f"{where}.{key}" if where else str(key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    walk(resolved, "")
