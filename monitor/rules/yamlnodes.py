"""YAML read with positions: PyYAML's node API, so every problem can say file:line:col.

Used by the rule loader and the rule-test loader. Positions are 1-based like promtool's.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["Problems", "compose_file", "did_you_mean", "peek", "plain"]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean "x"?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def plain(node: Node) -> Any:
    """The Python value of a node (safe tags only)."""
    return SafeConstructor().construct_object(node, deep=True)


def peek(node: Node | None, key: str) -> str | None:
    """The text under ``key`` of a mapping node, before it is validated (for messages)."""
    for k, v in getattr(node, "value", None) or []:
        if isinstance(k, ScalarNode) and k.value == key and isinstance(v, ScalarNode):
            return str(v.value)
    return None


@dataclass
class Problems:
    """Collects ``file:line:col: where: message`` lines for one file."""

    file: str
    lines: list[str] = field(default_factory=list)

    def add(self, node: Node | None, where: str, message: str) -> None:
        line, col = (node.start_mark.line + 1, node.start_mark.column + 1) if node else (1, 1)
        prefix = f"{where}: " if where else ""
        self.lines.append(f"{self.file}:{line}:{col}: {prefix}{message}")

    def pos(self, node: Node) -> str:
        return f"{self.file}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"

    def mapping(
        self,
        node: Node,
        where: str,
        allowed: Iterable[str],
        required: Iterable[str] = (),
        what: str = "a mapping",
    ) -> dict[str, tuple[Node, Node]] | None:
        """Keys -> (key node, value node); reports non-mappings, duplicates, unknown, missing."""
        if not isinstance(node, MappingNode):
            self.add(node, where, f"expected {what}, got {_kind(node)}")
            return None
        allowed = list(allowed)
        out: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = plain(key_node) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                self.add(key_node, where, f"keys must be text, got {_kind(key_node)}")
                continue
            if key in out:
                first = self.pos(out[key][0])
                self.add(key_node, where, f'duplicate key "{key}" (first at {first})')
                continue
            if key not in allowed:
                hint = did_you_mean(key, allowed) or f" (allowed: {', '.join(allowed)})"
                self.add(key_node, where, f'unknown key "{key}"{hint}')
                continue
            out[key] = (key_node, value_node)
        for key in required:
            if key not in out:
                self.add(node, where, f'missing required key "{key}"')
        return out

    def sequence(self, node: Node, where: str, what: str) -> list[Node] | None:
        if not isinstance(node, SequenceNode):
            self.add(node, where, f"{what} must be a list, got {_kind(node)}")
            return None
        return list(node.value)

    def text(self, node: Node, where: str, what: str) -> str | None:
        value = plain(node) if isinstance(node, ScalarNode) else None
        if not isinstance(value, str) or not value.strip():
            self.add(node, where, f"{what} must be non-empty text, got {_describe(node)}")
            return None
        return value

    def texts(self, node: Node, where: str, what: str) -> list[tuple[Node, str]] | None:
        """A string or a list of strings, each with its node."""
        if isinstance(node, ScalarNode):
            one = self.text(node, where, what)
            return None if one is None else [(node, one)]
        items = self.sequence(node, where, what)
        if items is None:
            return None
        out = []
        for item in items:
            value = self.text(item, where, f"each of {what}")
            if value is not None:
                out.append((item, value))
        return out

    def boolean(self, node: Node, where: str, what: str) -> bool | None:
        value = plain(node) if isinstance(node, ScalarNode) else None
        if not isinstance(value, bool):
            self.add(node, where, f"{what} must be true or false, got {_describe(node)}")
            return None
        return value


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    value = plain(node)
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"


def _describe(node: Node) -> str:
    return _kind(node)


def compose_file(text: str, problems: Problems) -> Node | None:
    """Parse YAML to a node tree; a syntax error becomes one positioned problem."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.lines.append(f"{problems.file}:{line}:{col}: invalid YAML: {exc.problem}")
        return None
    except yaml.YAMLError as exc:
        problems.lines.append(f"{problems.file}:1:1: invalid YAML: {exc}")
        return None
    if node is None:
        problems.lines.append(f"{problems.file}:1:1: the file is empty; expected a `groups:` list")
    return node
