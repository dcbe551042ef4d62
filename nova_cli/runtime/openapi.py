"""An OpenAPI 3.1 document from a compiled route table, as rebar3_nova's `openapi` makes one.

- each HTTP route is an operation: `:id` becomes `{id}` (a required string
  path parameter), a route open to any method is expanded to GET, POST,
  PUT, DELETE and PATCH, and the operationId is the controller's dotted
  name (with the method appended where one controller serves several);
- static, WebSocket, status-code and wildcard (`[...]`) routes are left
  out: OpenAPI has no form for them;
- every `schemas/*.json` file of the app package is a component schema
  named after the file (a sub-app's `APP.file`), with `NovaError`, the
  shape of the router's own error answers; a route's `json_schema` is its
  request body (POST, PUT, PATCH) and its success (2XX) response, by `$ref`
  when the file is one of those components, inline otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nova_cli.runtime.route_compiler import Route, RouteTableError, describe
from nova_cli.runtime.route_table import RouteTable

OPENAPI_VERSION = "3.1.0"
ANY_METHOD = ("get", "post", "put", "delete", "patch")
WITH_BODY = ("post", "put", "patch")
# A controller picks its status at run time (a resource's create answers 201):
# the document promises a 2XX, not a 200 that may be wrong.
SUCCESS = "success"
ERROR_SHAPE = {
    "type": "object",
    "properties": {
        "status": {"type": "integer"},
        "error": {"type": "string"},
        "message": {"type": "string"},
        # Request validation's 400s: what the JSON Schema validator found.
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "message": {"type": "string"},
                    "rule": {"type": "string"},
                },
            },
        },
    },
    "required": ["status", "error", "message"],
}


def document(table: RouteTable, *, title: str | None = None, version: str = "0.1.0") -> dict:
    """The OpenAPI document of `table`, ready for `json.dumps`."""
    # Each app's schemas/ folder, and the prefix of its components' names: a
    # sub-app's `book.json` is `blog.book`, so two apps' schemas never collide.
    folders = {(table.app_dir / "schemas").resolve(): ""}
    for name, sub in table.subapps.items():
        folders[(sub.directory / "schemas").resolve()] = f"{name}."
    schemas = {
        prefix + stem: schema
        for folder, prefix in folders.items()
        for stem, schema in component_schemas(folder).items()
    }
    paths: dict[str, dict[str, Any]] = {}
    ids: set[str] = set()
    for route in table.routes:
        if route.protocol != "http" or route.wildcard_at is not None:
            continue
        item = paths.setdefault(openapi_path(route), {})
        methods = _methods(route)
        for method in methods:
            if method not in item:  # the first route for a path and method wins, as it serves
                item[method] = _operation(route, method, len(methods) > 1, folders, ids)
    doc: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title or table.app_name, "version": version},
        "paths": {path: item for path, item in paths.items() if item},
        "components": {"schemas": {**schemas, "NovaError": ERROR_SHAPE}},
    }
    return doc


def component_schemas(folder: Path) -> dict[str, Any]:
    """`schemas/NAME.json` → {NAME: schema}; a file that is not JSON is one clear error."""
    if not folder.is_dir():
        return {}
    return {path.stem: load_schema(path) for path in sorted(folder.glob("*.json"))}


def load_schema(path: Path) -> Any:
    """A JSON Schema file's content."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise RouteTableError(f"{path}: not a JSON schema: {exc}") from None


def openapi_path(route: Route) -> str:
    """`/books/:id` → `/books/{id}`."""
    parts = [f"{{{s[1:]}}}" if s.startswith(":") else s for s in route.segments]
    return "/" + "/".join(parts)


def _methods(route: Route) -> list[str]:
    if not route.methods:
        return list(ANY_METHOD)
    declared = {m.lower() for m in route.methods}
    if "get" in declared:
        declared.discard("head")  # served with every GET route, not declared by the user
    return sorted(declared, key=_method_order)


def _method_order(method: str) -> tuple[int, str]:
    order = ("get", "post", "put", "patch", "delete")
    return (order.index(method) if method in order else len(order), method)


def _operation(
    route: Route, method: str, shared: bool, folders: dict[Path, str], ids: set[str]
) -> dict[str, Any]:
    name = describe(route.target)
    op: dict[str, Any] = {
        "operationId": _unique(f"{name}.{method}" if shared else name, ids),
        "tags": [_tag(route.target)],
        "responses": {"2XX": {"description": SUCCESS}},
    }
    summary = _summary(route.target)
    if summary:
        op["summary"] = summary
    if route.bindings:
        op["parameters"] = [
            {"name": binding, "in": "path", "required": True, "schema": {"type": "string"}}
            for _, binding in route.bindings
        ]
    if route.group.security is not None:
        op["x-nova-security"] = describe(route.group.security)
    if route.json_schema is not None:
        _add_schema(op, method, _schema_ref(route.json_schema, folders))
    return op


def _add_schema(op: dict[str, Any], method: str, schema: Any) -> None:
    content = {"application/json": {"schema": schema}}
    if method in WITH_BODY:
        op["requestBody"] = {"required": True, "content": content}
        op["responses"]["400"] = {
            "description": "the body is not JSON or does not match the schema",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NovaError"}}},
        }
    if method != "delete":
        op["responses"]["2XX"] = {"description": SUCCESS, "content": content}


def _schema_ref(path: Path, folders: dict[Path, str]) -> Any:
    """A `$ref` to the component of an app's schemas/ file; any other file inlined."""
    prefix = folders.get(path.parent)
    if prefix is not None:
        return {"$ref": f"#/components/schemas/{prefix}{path.stem}"}
    return load_schema(path)


def _tag(target: Any) -> str:
    """The controller module's own name, less `_controller`: operations grouped by module."""
    module = str(getattr(target, "__module__", "") or "app")
    return module.rsplit(".", 1)[-1].removesuffix("_controller")


def _summary(target: Any) -> str:
    doc = getattr(target, "__doc__", None) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _unique(operation_id: str, ids: set[str]) -> str:
    candidate, n = operation_id, 2
    while candidate in ids:
        candidate, n = f"{operation_id}_{n}", n + 1
    ids.add(candidate)
    return candidate
