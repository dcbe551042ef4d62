"""Add route tuples to an app's `router.py`, and handler registrations to its package.

The edits are made on the concrete syntax tree (libcst), never with a regex,
so everything the user wrote (comments, layout, other groups) is kept byte
for byte.  They are idempotent: a route already in the list, or an import
already there, is left alone.  When the file is not the plain shape `nova new`
writes (routes built in a loop, a group kept in another module, ...) the edit
refuses with `CannotEdit`, whose message says why, and the caller prints
`snippet()` for the user to paste instead.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst

from nova_cli.scaffold.import_edit import CannotEdit, Import, ensure_import


@dataclass(frozen=True)
class RouteEntry:
    """One route tuple to add: `(path, target, options)` as source code."""

    path: str
    target: str  # Python code: `users_controller.index`, or a module for ws
    methods: tuple[str, ...] = ()  # lower case; empty: every method
    protocol: str = "http"
    json_schema: str | None = None  # the schema file the request body must meet

    def options(self) -> str:
        """The options dict, as source code."""
        if self.protocol == "ws":
            return '{"protocol": "ws"}'
        schema = f', "json_schema": {_quote(self.json_schema)}' if self.json_schema else ""
        methods = ", ".join(_quote(m) for m in self.methods)
        return "{" + f'"methods": [{methods}]{schema}' + "}"

    def code(self) -> str:
        options = self.options()
        return f"({_quote(self.path)}, {self.target}, {options})"


# ruff format's default line length, which the generated router keeps.
_LINE_LENGTH = 88


@dataclass(frozen=True)
class RouteGroup:
    """A route group to add: its security, plugins and routes, as source code."""

    security: str  # Python code: `False`, `auth.require_authenticated`
    routes: tuple[RouteEntry, ...]
    plugins: tuple[str, ...] = ()  # Python code of each plugin tuple
    comment: tuple[str, ...] = ()  # comment lines, without the `# `

    def code(self, routes: Sequence[RouteEntry] | None = None, indent: int = 8) -> str:
        """The group's dict literal, laid out as ruff format would at `indent` spaces."""
        pad = " " * (indent + 4)
        lines = ["{", *(f"{pad}# {text}" for text in self.comment)]
        lines += [f'{pad}"prefix": "",', f'{pad}"security": {self.security},']
        if self.plugins:
            lines += _code_list("plugins", self.plugins, indent + 4)
        chosen = self.routes if routes is None else routes
        lines += _code_list("routes", [e.code() for e in chosen], indent + 4)
        return "\n".join([*lines, " " * indent + "}"])


def _code_list(key: str, items: Sequence[str], indent: int) -> list[str]:
    pad, inner = " " * indent, " " * (indent + 4)
    lines = [f'{pad}"{key}": [']
    for item in items:
        if len(inner) + len(item) + 1 <= _LINE_LENGTH:
            lines.append(f"{inner}{item},")
        else:  # one element a line, as ruff format splits a tuple too long for one
            parts = [p.strip() for p in _top_level_split(item[1:-1])]
            lines += [f"{inner}(", *(f"{inner}    {p}," for p in parts), f"{inner}),"]
    return [*lines, f"{pad}],"]


def _top_level_split(code: str) -> list[str]:
    """`code` split at the commas outside brackets and strings."""
    parts, depth, quote, start = [], 0, "", 0
    for index, char in enumerate(code):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(code[start:index])
            start = index + 1
    return [*parts, code[start:]]


_REGISTER = Import("nova_cli.handlers", "register_handler")


@dataclass
class RouteEdit:
    """The outcome of `add_routes`: the new source and what happened to each entry."""

    source: str
    added: list[RouteEntry] = field(default_factory=list)
    present: list[RouteEntry] = field(default_factory=list)
    clashes: list[tuple[RouteEntry, str]] = field(default_factory=list)  # (entry, existing)
    imports_added: list[Import] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added) or bool(self.imports_added)


def snippet(entries: Sequence[RouteEntry], imports: Sequence[Import]) -> str:
    """What to paste by hand: the imports, then the route tuples."""
    lines = [imp.code() for imp in imports]
    if imports and entries:
        lines.append("")
    lines += [entry.code() + "," for entry in entries]
    return "\n".join(lines)


def add_routes(source: str, entries: Sequence[RouteEntry], imports: Sequence[Import]) -> RouteEdit:
    """Add `entries` to the first open route group of `routes()` and `imports` to the module.

    The first open group is the first one with prefix "" and no security (the
    one `nova new` writes), so the generated routes answer at the paths their
    tests use.  An entry whose path already routes elsewhere (same methods or
    protocol) is not added but reported in `clashes`.
    """
    module = _parse(source, "router.py")
    routes_list = _find_route_list(module)
    existing = [_describe_existing(module, element) for element in routes_list.elements]
    result = RouteEdit(source)
    to_add: list[RouteEntry] = []
    for entry in entries:
        clash = None
        for found in existing:
            if found is None:
                continue
            if found.same_as(entry):
                result.present.append(entry)
                break
            if found.clashes_with(entry):
                clash = found.code
        else:
            if clash is not None:
                result.clashes.append((entry, clash))
            else:
                to_add.append(entry)
    if to_add:
        new_list = _append_elements(routes_list, [cst.parse_expression(e.code()) for e in to_add])
        replaced = module.deep_replace(routes_list, new_list)
        assert isinstance(replaced, cst.Module)
        module = replaced
        result.added = to_add
    if result.added:
        for imp in imports:
            module, added = ensure_import(module, imp, "router.py", imp.module.split(".")[0])
            if added:
                result.imports_added.append(imp)
    result.source = _checked(_wrap_long_entries(module.code, result.added), "router.py")
    return result


@dataclass
class GroupEdit:
    """The outcome of `add_groups`: the new source and what happened to each route."""

    source: str
    added: list[RouteEntry] = field(default_factory=list)
    groups: int = 0  # groups added
    moved: list[RouteEntry] = field(default_factory=list)  # taken out of an open group
    clashes: list[tuple[RouteEntry, str]] = field(default_factory=list)  # (entry, existing)

    @property
    def changed(self) -> bool:
        return bool(self.added)


def add_groups(source: str, groups: Sequence[RouteGroup], imports: Sequence[Import]) -> GroupEdit:
    """Append `groups` to the list `routes()` returns, less the routes already there.

    A route already in a group with the same security is left there. The same
    route in an open group (no security) is moved into its new group: that is
    how an existing handler goes behind the group's security. A path routed
    to another target is not added but reported in `clashes`.
    """
    module = _parse(source, "router.py")
    placed = _placed_routes(module)
    result = GroupEdit(source)
    wanted: list[tuple[RouteGroup, list[RouteEntry]]] = []
    to_remove: set[int] = set()  # id() of route elements to take out of their group
    for group in groups:
        fresh: list[RouteEntry] = []
        for entry in group.routes:
            same = [p for p in placed if p.found.same_as(entry)]
            secured = [p for p in same if p.security == _normal(group.security)]
            if secured:
                continue
            if same and all(p.security in ("False", "None") for p in same):
                to_remove.update(id(p.element) for p in same)
                result.moved.append(entry)
            elif same or any(p.found.clashes_with(entry) for p in placed):
                clash = next(
                    p for p in placed if p.found.same_as(entry) or p.found.clashes_with(entry)
                )
                result.clashes.append((entry, clash.found.code))
                continue
            fresh.append(entry)
        if fresh:
            wanted.append((group, fresh))
    if not wanted:
        return result
    if to_remove:
        module = _without_elements(module, to_remove)
    groups_list = _group_list(module)
    # Inside routes(), libcst adds the body's 4 spaces to each line of the new groups.
    new = [cst.parse_expression(group.code(fresh, indent=4)) for group, fresh in wanted]
    replaced = module.deep_replace(groups_list, _append_elements(groups_list, new))
    assert isinstance(replaced, cst.Module)
    module = replaced
    result.added = [entry for _, fresh in wanted for entry in fresh]
    result.groups = len(wanted)
    for imp in imports:
        module, _ = ensure_import(module, imp, "router.py", imp.module.split(".")[0])
    result.source = _checked(module.code, "router.py")
    return result


def add_handler_registration(source: str, app: str, name: str) -> str | None:
    """Register the `name` handler in the app package's `__init__.py` source.

    Adds `from APP.handlers import NAME_handler`, `from nova_cli.handlers import
    register_handler` and `register_handler("NAME", NAME_handler.handle)`; None
    when a registration for `name` is already there.  The function is imported
    by name on purpose: `from nova_cli import handlers` would be rebound to the
    app's own `handlers` subpackage as soon as that is imported.
    """
    module = _parse(source, "__init__.py")
    for statement in module.body:
        if _registered_name(statement) == name:
            return None
    for imp in (_REGISTER, Import(f"{app}.handlers", f"{name}_handler")):
        module, _ = ensure_import(module, imp, "__init__.py", app)
    call = cst.parse_statement(f"register_handler({_quote(name)}, {name}_handler.handle)\n")
    assert isinstance(call, cst.SimpleStatementLine)
    body = list(module.body)
    follows_registration = bool(body) and _registered_name(body[-1]) is not None
    if body and not follows_registration:
        call = call.with_changes(leading_lines=[cst.EmptyLine()])
    module = module.with_changes(body=[*body, call], has_trailing_newline=True)
    return _checked(module.code, "__init__.py")


# -- reading the route table ------------------------------------------------------------


@dataclass(frozen=True)
class _Existing:
    """A route tuple already in the list, as far as it can be read statically."""

    path: str
    target: str
    kind: str  # "http" | "ws"
    methods: frozenset[str] | None  # None: every method (or unknown)
    code: str

    def same_as(self, entry: RouteEntry) -> bool:
        return self.path == entry.path and self.target == _normal(entry.target)

    def clashes_with(self, entry: RouteEntry) -> bool:
        kind = "ws" if entry.protocol == "ws" else "http"
        if kind != self.kind or _shape(self.path) != _shape(entry.path):
            return False
        if kind == "ws" or self.methods is None or not entry.methods:
            return True
        return bool(self.methods & {m.upper() for m in entry.methods})


def _describe_existing(module: cst.Module, element: cst.BaseElement) -> _Existing | None:
    value = element.value
    if not isinstance(value, cst.Tuple) or len(value.elements) not in (2, 3):
        return None
    first = value.elements[0].value
    path = first.evaluated_value if isinstance(first, cst.SimpleString) else None
    if not isinstance(path, str):
        return None  # a status-code route, or a path computed at run time
    target = value.elements[1].value
    if isinstance(target, cst.SimpleString):  # a static directory
        return _Existing(path, module.code_for_node(target), "http", None, _code(module, value))
    options: object = {}
    if len(value.elements) == 3:
        try:
            options = ast.literal_eval(module.code_for_node(value.elements[2].value))
        except (ValueError, SyntaxError):
            options = None
    kind = "http"
    methods: frozenset[str] | None = None
    if isinstance(options, dict):
        kind = "ws" if options.get("protocol") == "ws" else "http"
        declared = options.get("methods")
        if isinstance(declared, list | tuple) and "_" not in declared:
            methods = frozenset(str(m).upper() for m in declared)
    return _Existing(
        path, _normal(module.code_for_node(target)), kind, methods, _code(module, value)
    )


def _find_route_list(module: cst.Module) -> cst.List:
    for group in _route_groups(module):
        entries = _dict_entries(module, group)
        if entries is None:
            continue
        prefix, security, routes = (entries.get(k) for k in ("prefix", "security", "routes"))
        open_prefix = prefix is None or (
            isinstance(prefix, cst.SimpleString) and prefix.evaluated_value in ("", "/")
        )
        open_security = security is None or (
            isinstance(security, cst.Name) and security.value in ("False", "None")
        )
        if not (open_prefix and open_security):
            continue
        if not isinstance(routes, cst.List):
            shown = _code(module, routes) if routes is not None else "missing"
            raise CannotEdit(
                f'the open group\'s "routes" is `{shown}`, not a list literal '
                "(the route table is built dynamically)"
            )
        return routes
    raise CannotEdit('routes() has no group with prefix "" and security False to add routes to')


@dataclass(frozen=True)
class _Placed:
    """A route tuple of some group, with that group's security (as normalised code)."""

    found: _Existing
    security: str
    element: cst.BaseElement


def _placed_routes(module: cst.Module) -> list[_Placed]:
    """Every route tuple of the groups that can be read statically."""
    placed: list[_Placed] = []
    for element in _group_list(module).elements:
        group = element.value
        entries = _dict_entries(module, group) if isinstance(group, cst.Dict) else None
        routes = entries.get("routes") if entries is not None else None
        if entries is None or not isinstance(routes, cst.List):
            continue
        security = entries.get("security")
        code = _normal(module.code_for_node(security)) if security is not None else "False"
        for route in routes.elements:
            found = _describe_existing(module, route)
            if found is not None:
                placed.append(_Placed(found, code, route))
    return placed


def _without_elements(module: cst.Module, ids: set[int]) -> cst.Module:
    """`module` without the list elements whose id() is in `ids`."""

    class Remover(cst.CSTTransformer):
        def leave_List(self, original: cst.List, updated: cst.List) -> cst.List:
            kept = [e for e in original.elements if id(e) not in ids]
            if len(kept) == len(original.elements):
                return updated
            last = original.elements[-1]
            if not kept or kept[-1] is last:
                return updated.with_changes(elements=kept)
            # The last one went: its comma closes the list, and its comment goes with it.
            kept[-1] = kept[-1].with_changes(comma=last.comma)
            close = updated.rbracket.whitespace_before
            if isinstance(close, cst.ParenthesizedWhitespace):
                close = close.with_changes(first_line=cst.TrailingWhitespace())
            rbracket = updated.rbracket.with_changes(whitespace_before=close)
            return updated.with_changes(elements=kept, rbracket=rbracket)

    return module.visit(Remover())


def _group_list(module: cst.Module) -> cst.List:
    """The list literal of route groups that `routes()` returns."""
    function = next(
        (s for s in module.body if isinstance(s, cst.FunctionDef) and s.name.value == "routes"),
        None,
    )
    if function is None:
        raise CannotEdit("router.py has no routes(environment) function at its top level")
    returns = _returns(function)
    if len(returns) != 1 or returns[0].value is None:
        raise CannotEdit(
            f"routes() has {len(returns)} return statements; only one returning a list "
            "literal can be edited"
        )
    groups = returns[0].value
    if isinstance(groups, cst.Name):
        groups = _assigned_list(module, function, groups.value)
    if not isinstance(groups, cst.List):
        raise CannotEdit(
            f"routes() returns `{_code(module, returns[0].value)}`, not a list literal "
            "(the route table is built dynamically)"
        )
    return groups


def _route_groups(module: cst.Module) -> list[cst.Dict]:
    """The group dicts of the list literal `routes()` returns; CannotEdit when there is none."""
    found = []
    for element in _group_list(module).elements:
        group = element.value
        if not isinstance(group, cst.Dict):
            raise CannotEdit(
                f"a route group is `{_code(module, group)}`, not a dict literal "
                "(the route table is built dynamically)"
            )
        found.append(group)
    return found


def http_routes_to(source: str, module_name: str) -> list[tuple[str, frozenset[str] | None]]:
    """The HTTP routes of router.py whose target is a function of `module_name`.

    Each is (full path with its group's prefix, methods or None for every
    method), as far as the router can be read without running it.
    """
    module = _parse(source, "router.py")
    found: list[tuple[str, frozenset[str] | None]] = []
    for group in _route_groups(module):
        entries = _dict_entries(module, group) or {}
        prefix, routes = entries.get("prefix"), entries.get("routes")
        base = prefix.evaluated_value if isinstance(prefix, cst.SimpleString) else ""
        if not isinstance(base, str) or not isinstance(routes, cst.List):
            continue
        for element in routes.elements:
            route = _describe_existing(module, element)
            if route and route.kind == "http" and route.target.startswith(module_name + "."):
                found.append(((base.rstrip("/") + route.path) or "/", route.methods))
    return found


def _returns(function: cst.FunctionDef) -> list[cst.Return]:
    """The function's own return statements (not those of nested functions)."""
    found: list[cst.Return] = []

    class Visitor(cst.CSTVisitor):
        def visit_Return(self, node: cst.Return) -> None:
            found.append(node)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is function

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

    function.visit(Visitor())
    return found


def _assigned_list(module: cst.Module, function: cst.FunctionDef, name: str) -> cst.BaseExpression:
    """The list literal `name` is assigned once, in the function or at module level."""
    assert isinstance(function.body, cst.IndentedBlock)
    for body in (function.body.body, module.body):
        values = [
            stmt.body[0].value
            for stmt in body
            if isinstance(stmt, cst.SimpleStatementLine)
            and isinstance(stmt.body[0], cst.Assign)
            and any(
                isinstance(t.target, cst.Name) and t.target.value == name
                for t in stmt.body[0].targets
            )
        ]
        if len(values) == 1:
            return values[0]
        if values:
            raise CannotEdit(f"routes() returns {name}, which is assigned more than once")
    raise CannotEdit(f"routes() returns {name}, which is not assigned a list literal")


def _dict_entries(module: cst.Module, group: cst.Dict) -> dict[str, cst.BaseExpression] | None:
    entries: dict[str, cst.BaseExpression] = {}
    for element in group.elements:
        if not isinstance(element, cst.DictElement):
            return None  # `**other`: its keys are unknown
        key = element.key
        if isinstance(key, cst.SimpleString) and isinstance(key.evaluated_value, str):
            entries[key.evaluated_value] = element.value
    return entries


def _registered_name(statement: cst.BaseStatement) -> str | None:
    """The handler name of a top-level `register_handler("name", ...)` call, else None."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    expr = statement.body[0]
    if not isinstance(expr, cst.Expr) or not isinstance(expr.value, cst.Call):
        return None
    func = expr.value.func
    name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
    args = expr.value.args
    if name != "register_handler" or not args or not isinstance(args[0].value, cst.SimpleString):
        return None
    value = args[0].value.evaluated_value
    return value if isinstance(value, str) else None


# -- writing -------------------------------------------------------------------------------


def _append_elements(node: cst.List, values: list[cst.BaseExpression]) -> cst.List:
    """`node` with `values` appended, laid out like the elements already there."""
    old = list(node.elements)
    lead, close = node.lbracket.whitespace_after, node.rbracket.whitespace_before
    multiline = isinstance(lead, cst.ParenthesizedWhitespace) and isinstance(
        close, cst.ParenthesizedWhitespace
    )
    if not multiline or not old:
        between: cst.BaseParenthesizableWhitespace = cst.SimpleWhitespace(" ")
        elements = [*old[:-1]]
        if old:
            elements.append(old[-1].with_changes(comma=cst.Comma(whitespace_after=between)))
        new = [cst.Element(v, comma=cst.Comma(whitespace_after=between)) for v in values]
        new[-1] = new[-1].with_changes(comma=old[-1].comma if old else cst.MaybeSentinel.DEFAULT)
        return node.with_changes(elements=[*elements, *new])
    assert isinstance(lead, cst.ParenthesizedWhitespace)
    assert isinstance(close, cst.ParenthesizedWhitespace)
    # Whatever followed the last element (its comment, comment lines before `]`)
    # stays there; the new elements come after it, at the elements' indentation.
    after_last = close.with_changes(last_line=lead.last_line, indent=lead.indent)
    between = lead.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
    elements = [*old[:-1], old[-1].with_changes(comma=cst.Comma(whitespace_after=after_last))]
    new = [cst.Element(v, comma=cst.Comma(whitespace_after=between)) for v in values]
    trailing = old[-1].comma
    new[-1] = new[-1].with_changes(
        comma=cst.Comma() if isinstance(trailing, cst.Comma) else cst.MaybeSentinel.DEFAULT
    )
    closing = close.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
    return node.with_changes(
        elements=[*elements, *new], rbracket=node.rbracket.with_changes(whitespace_before=closing)
    )


# ruff format's default width: the generated apps keep it, and pass `ruff format --check`.
LINE_LENGTH = 88


def _wrap_long_entries(source: str, added: Sequence[RouteEntry]) -> str:
    """Each added route that does not fit on one line, laid out as ruff format lays it out."""
    lines = source.split("\n")
    for entry in added:
        code = entry.code() + ","
        for i, line in enumerate(lines):
            indent = line[: len(line) - len(line.lstrip(" "))]
            if line.strip() == code and len(line) > LINE_LENGTH:
                inner = indent + "    "
                parts = [_quote(entry.path), entry.target, entry.options()]
                lines[i : i + 1] = [f"{indent}(", *(f"{inner}{p}," for p in parts), f"{indent}),"]
                break
    return "\n".join(lines)


# -- helpers -------------------------------------------------------------------------------


def _parse(source: str, filename: str) -> cst.Module:
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise CannotEdit(
            f"{filename} does not parse (line {exc.raw_line}: {exc.message})"
        ) from None


def _checked(source: str, filename: str) -> str:
    """The edited source, once Python itself has compiled it."""
    try:
        compile(source, filename, "exec")
    except SyntaxError as exc:  # a bug here, never the user's: refuse rather than break
        raise CannotEdit(f"editing {filename} would not give valid Python: {exc}") from None
    return source


def _shape(path: str) -> str:
    # /users/:id and /users/:uid are one path to the router.
    return "/".join(":" if s.startswith(":") else s for s in path.split("/") if s)


def _normal(code: str) -> str:
    return "".join(code.split())


def _code(module: cst.Module, node: cst.CSTNode) -> str:
    text = " ".join(module.code_for_node(node).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _quote(text: str) -> str:
    # JSON-style double quotes, as the rest of router.py is written.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
