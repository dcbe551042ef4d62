"""Add requirements to `[project] dependencies` of an app's pyproject.toml, keeping its text.

Python reads TOML but does not write it, so the edit is made in the text:
the `dependencies` array of the `[project]` table gets the new strings
before its closing bracket, laid out as the array already is (one line, or
one item a line). The result is read back with `tomllib` and must list
exactly the old requirements plus the new ones; otherwise `CannotEdit`
says why and the user is shown what to add.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence

from nova_cli.scaffold.import_edit import CannotEdit

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_TABLE = re.compile(r"^\s*\[")
_DEPENDENCIES = re.compile(r"^\s*dependencies\s*=\s*\[")


def add_dependencies(source: str, requirements: Sequence[str]) -> tuple[str, list[str]]:
    """`source` with the `requirements` it lacks (by project name), and those added."""
    current = _dependencies(source)
    have = {_name(req) for req in current}
    missing = [req for req in requirements if _name(req) not in have]
    if not missing:
        return source, []
    start, close = _array_span(source)
    body = source[start:close]
    if "\n" in body:
        indent = re.search(r"\n([ \t]*)\S", body + "\n]")
        pad = indent[1] if indent and indent[1] else "    "
        head = body.rstrip()
        last = _last_value_char(head)  # the comma goes before a comment on that line
        if last >= 0 and head[last] != ",":
            head = head[: last + 1] + "," + head[last + 1 :]
        items = "".join(f"\n{pad}{json.dumps(req)}," for req in missing)
        new = head + items + "\n"
    else:
        head = body.rstrip().rstrip(",")
        joined = ", ".join(json.dumps(req) for req in missing)
        new = f"{head}, {joined}" if head.strip(" [") else f"{head}{joined}"
    edited = source[:start] + new + source[close:]
    if _dependencies(edited) != [*current, *missing]:
        raise CannotEdit("pyproject.toml: editing [project] dependencies would change them")
    return edited, missing


def _dependencies(source: str) -> list[str]:
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise CannotEdit(f"pyproject.toml does not parse ({exc})") from None
    found = data.get("project", {}).get("dependencies")
    if not isinstance(found, list):
        raise CannotEdit("pyproject.toml has no [project] dependencies list")
    return found


def _array_span(source: str) -> tuple[int, int]:
    """Offsets of the `dependencies` array's text: just after `[`, at its `]`."""
    offset, in_project = 0, False
    for line in source.splitlines(keepends=True):
        if _TABLE.match(line):
            in_project = line.strip() == "[project]"
        elif in_project and _DEPENDENCIES.match(line):
            start = offset + line.index("[") + 1
            return start, _closing_bracket(source, start)
        offset += len(line)
    raise CannotEdit("pyproject.toml: [project] dependencies is not written as an array")


def _closing_bracket(source: str, start: int) -> int:
    depth, quote, index = 0, "", start
    while index < len(source):
        char = source[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            index = source.find("\n", index)
            if index < 0:
                break
        elif char == "[":
            depth += 1
        elif char == "]":
            if depth == 0:
                return index
            depth -= 1
        index += 1
    raise CannotEdit("pyproject.toml: the dependencies array is not closed")


def _last_value_char(text: str) -> int:
    """The index of the last character of `text` outside comments and blanks; -1 if none."""
    last, quote, index = -1, "", 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = ""
            last = index
        elif char == "#":
            end = text.find("\n", index)
            index = len(text) if end < 0 else end
            continue
        elif not char.isspace():
            quote = char if char in "\"'" else ""
            last = index
        index += 1
    return last


def _name(requirement: str) -> str:
    found = _NAME.match(requirement)
    name = found[1] if found else requirement
    return re.sub(r"[-_.]+", "-", name).lower()
