"""Add `from module import name` to a module's syntax tree (libcst), where isort would.

Used by `router_edit` for router.py and the app package's `__init__.py`: an
import already there is left alone; a name taken by something else is
refused (`CannotEdit`); a name from a module already imported from joins
that statement (one line when it fits, else wrapped as ruff format does);
a new statement goes with its kind, third-party before the app's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

# ruff format's default: an import we extend must still fit on one line.
_LINE_LENGTH = 88


class CannotEdit(Exception):
    """The file cannot be edited safely; the message says why."""


@dataclass(frozen=True)
class Import:
    """`from module import name`."""

    module: str
    name: str

    def code(self) -> str:
        return f"from {self.module} import {self.name}"


def ensure_import(
    module: cst.Module, imp: Import, filename: str, first_party: str
) -> tuple[cst.Module, bool]:
    """`module` with `from imp.module import imp.name` (and whether it was added).

    A new import statement goes where isort would put it: third-party imports
    before the app's own (`first_party`), a blank line between the two.
    """
    body = list(module.body)
    same_module: int | None = None
    imports: list[tuple[int, bool]] = []  # (index, is first party)
    names: dict[int, str] = {}  # index -> the module a statement imports from
    for index, statement in enumerate(body):
        if not isinstance(statement, cst.SimpleStatementLine):
            _check_not_bound(statement, imp, filename)
            continue
        for small in statement.body:
            if isinstance(small, cst.Import | cst.ImportFrom):
                imports.append((index, _top(module, small) == first_party))
                if isinstance(small, cst.ImportFrom):
                    names.setdefault(index, _module_name(module, small))
            if isinstance(small, cst.ImportFrom) and _module_name(module, small) == imp.module:
                if isinstance(small.names, cst.ImportStar):
                    continue
                for alias in small.names:
                    if _bound(alias) == imp.name and _alias_name(module, alias) == imp.name:
                        return module, False
                if len(statement.body) == 1:
                    same_module = index
            _check_not_bound(small, imp, filename)
    if same_module is not None:
        merged = _merge_alias(module, body[same_module], imp.name)
        if merged is not None:
            body[same_module] = merged
            return module.with_changes(body=body), True
    new = cst.parse_statement(imp.code() + "\n")
    ours = imp.module.split(".")[0] == first_party
    first_ours = next((index for index, mine in imports if mine), None)
    # isort's order within the app's own imports: `from app import x` before `from app.y ...`.
    after = next((i for i, mine in imports if mine and names.get(i, "") > imp.module), None)
    if ours and after is not None:
        at = after
        new = new.with_changes(leading_lines=body[at].leading_lines)
        body[at] = body[at].with_changes(leading_lines=[])
    elif not ours and first_ours is not None:
        # Before the app's own imports, which keep their blank line above.
        at = first_ours
        new = new.with_changes(leading_lines=body[at].leading_lines)
        body[at] = body[at].with_changes(leading_lines=[cst.EmptyLine()])
    elif imports:
        at = imports[-1][0] + 1
        if ours and not imports[-1][1]:
            new = new.with_changes(leading_lines=[cst.EmptyLine()])
    else:
        at = 1 if body and _is_docstring(body[0]) else 0
        if at:
            new = new.with_changes(leading_lines=[cst.EmptyLine()])
        elif body:  # what was first keeps two blank lines after the imports
            lines = [cst.EmptyLine(), cst.EmptyLine(), *body[0].leading_lines]
            body[0] = body[0].with_changes(leading_lines=lines)
    body.insert(at, new)
    return module.with_changes(body=body), True


def _top(module: cst.Module, node: cst.Import | cst.ImportFrom) -> str:
    """The top-level package an import statement reads from ("" if relative)."""
    if isinstance(node, cst.Import):
        return module.code_for_node(node.names[0].name).split(".")[0]
    return _module_name(module, node).split(".")[0]


def _merge_alias(
    module: cst.Module, statement: cst.SimpleStatementLine | cst.BaseCompoundStatement, name: str
) -> cst.SimpleStatementLine | None:
    """`from m import a, c` + b → `from m import a, b, c`, laid out as ruff format does.

    One line when it fits, else one name a line in parentheses.  None (add a
    separate import instead) when the statement has aliases or comments.
    """
    assert isinstance(statement, cst.SimpleStatementLine)
    small = statement.body[0]
    assert isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar)
    if "#" in module.code_for_node(small) or statement.trailing_whitespace.comment is not None:
        return None
    if any(alias.asname is not None for alias in small.names):
        return None
    names = sorted({_alias_name(module, alias) for alias in small.names} | {name})
    head = f"from {_module_name(module, small)} import "
    code = head + ", ".join(names)
    if len(code) > _LINE_LENGTH:
        code = head + "(\n" + "".join(f"    {n},\n" for n in names) + ")"
    merged = cst.parse_statement(code + "\n")
    assert isinstance(merged, cst.SimpleStatementLine)
    return merged.with_changes(leading_lines=statement.leading_lines)


def _check_not_bound(node: cst.CSTNode, imp: Import, filename: str) -> None:
    """Refuse when the module binds `imp.name` to something else at its top level."""
    bound: list[str] = []
    if isinstance(node, cst.FunctionDef | cst.ClassDef):
        bound.append(node.name.value)
    elif isinstance(node, cst.Assign):
        bound += [t.target.value for t in node.targets if isinstance(t.target, cst.Name)]
    elif isinstance(node, cst.AnnAssign | cst.AugAssign) and isinstance(node.target, cst.Name):
        bound.append(node.target.value)
    elif isinstance(node, cst.Import | cst.ImportFrom) and not isinstance(
        node.names, cst.ImportStar
    ):
        bound += [_bound(a) for a in node.names]
    if imp.name in bound:
        raise CannotEdit(
            f"{filename} already uses the name {imp.name} for something else than `{imp.code()}`"
        )


def _bound(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    name = alias.name
    while isinstance(name, cst.Attribute):  # `import a.b` binds `a`
        name = name.value  # type: ignore[assignment]
    return name.value if isinstance(name, cst.Name) else ""


def _alias_name(module: cst.Module, alias: cst.ImportAlias) -> str:
    return module.code_for_node(alias.name)


def _module_name(module: cst.Module, node: cst.ImportFrom) -> str:
    if node.relative or node.module is None:
        return ""
    return module.code_for_node(node.module)


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )
