"""YAML files read into plain data while remembering the line of every key and item."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from hotline.cityconfig.errors import ConfigError

Path_ = tuple[str | int, ...]

# libyaml's parser when PyYAML was built with it (the PyPI wheels are): the same documents, marks and errors,
# about 4x less CPU than the pure-Python one (the city's files: 0.10 s -> 0.023 s per load, paid by every
# `hotline` process and every worker's first message).
FastSafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """yaml.safe_load through libyaml."""
    return yaml.load(text, Loader=FastSafeLoader)


@dataclass
class YamlSource:
    file: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, path: Path_) -> int:
        """The line of `path`, or of its nearest ancestor that has one."""
        for cut in range(len(path), -1, -1):
            found = self.lines.get(tuple(path[:cut]))
            if found is not None:
                return found
        return 1

    def error(self, path: Path_, message: str, fix: str = "") -> ConfigError:
        return ConfigError(self.file, self.line(path), message, fix)


def _build(node: Node, path: Path_, lines: dict[Path_, int], ctor: SafeConstructor, file: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = ctor.construct_object(key_node, deep=True)
            if isinstance(key, int | float | bool):
                key = str(key)
            line = key_node.start_mark.line + 1
            if key in result:
                # PyYAML keeps the last one silently; a repeated menu digit or node must not vanish.
                raise ConfigErrorOnRead(
                    ConfigError(
                        file, line, f"'{key}' appears twice (first at line {lines[(*path, key)]})", "keep only one"
                    )
                )
            lines[(*path, key)] = line
            result[key] = _build(value_node, (*path, key), lines, ctor, file)
        return result
    if isinstance(node, SequenceNode):
        return [_build(item, (*path, i), lines, ctor, file) for i, item in enumerate(node.value)]
    assert isinstance(node, ScalarNode)
    return ctor.construct_object(node, deep=True)


def read_yaml(path: Path, display_name: str) -> YamlSource:
    """Parse one file; a syntax error becomes a ConfigError with its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigErrorOnRead(ConfigError(display_name, 1, "file is missing", "create it")) from None
    except UnicodeDecodeError as exc:
        raise ConfigErrorOnRead(ConfigError(display_name, 1, f"not UTF-8 text: {exc}", "save as UTF-8")) from None
    try:
        node = yaml.compose(text, Loader=FastSafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ConfigErrorOnRead(
            ConfigError(display_name, line, f"YAML syntax: {exc.problem or exc}", "check indentation and quotes")
        ) from None
    lines: dict[Path_, int] = {}
    data = {} if node is None else _build(node, (), lines, SafeConstructor(), display_name)
    return YamlSource(display_name, data, lines)


class ConfigErrorOnRead(Exception):
    def __init__(self, error: ConfigError):
        self.error = error
        super().__init__(str(error))
