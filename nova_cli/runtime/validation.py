"""Request bodies checked against a route's JSON Schema (Nova's `nova_json_schemas`).

A route with a `json_schema` file (the option, or Nova's
`extra_state["json_schema"]`) has its body decoded and validated before the
controller runs, after the pre-request plugins and security.  A body that
is not JSON, or does not match, is answered 400 in the JSON error shape,
with the validator's finding under `errors`.

Each schema file is compiled once per route table by fastjsonschema (to
Python code), at build time: a schema it cannot compile stops the start-up.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import fastjsonschema
from starlette.responses import Response

from nova_cli.core.errors import RouteTableError
from nova_cli.runtime import json_body
from nova_cli.runtime.errors import error_body
from nova_cli.runtime.request import Request
from nova_cli.runtime.return_handlers import encode_json

Validator = Callable[[Any], Any]
# Their bodies carry no meaning in HTTP: they are checked only when they have one.
OPTIONAL_BODY = ("GET", "HEAD", "DELETE")


def compile_schemas(paths: Iterable[Path]) -> dict[Path, Validator]:
    """A validator per schema file, each compiled once; RouteTableError names a bad file."""
    return {path: _compile(path) for path in sorted(set(paths))}


def _compile(path: Path) -> Validator:
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise RouteTableError(f"json_schema {path}: not JSON: {exc}") from None
    try:
        return fastjsonschema.compile(schema)
    except fastjsonschema.JsonSchemaDefinitionException as exc:
        raise RouteTableError(f"json_schema {path}: not a valid JSON Schema: {exc}") from None
    except Exception as exc:  # a schema fastjsonschema's code generator chokes on
        raise RouteTableError(
            f"json_schema {path}: cannot be compiled: {type(exc).__name__}: {exc}"
        ) from None


def check(validator: Validator, schema: Path, req: Request) -> Response | None:
    """None when `req`'s body meets the schema (then `req.json` holds it), else the 400."""
    if req.method in OPTIONAL_BODY and not req.body:
        return None
    if req.json is None:  # not decoded yet by the request plugin
        try:
            req.json = json_body.decode(req.body)
        except json_body.BadJson as exc:
            return _bad_request(str(exc))
    try:
        validator(req.json)
    except fastjsonschema.JsonSchemaValueException as exc:
        finding = {"path": _pointer(exc.path), "message": exc.message, "rule": exc.rule}
        message = f"body does not match {schema.name}: {exc.message}"
        return _bad_request(message, [finding])
    return None


def _pointer(path: Any) -> str:
    """fastjsonschema's path (`['data', 'title', 0]`) as a JSON Pointer (`/title/0`)."""
    parts = list(path or [])[1:]  # the first element names the root, "data"
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _bad_request(message: str, findings: list[Mapping[str, Any]] | None = None) -> Response:
    body: dict[str, Any] = error_body(400, message)
    if findings is not None:
        body["errors"] = findings
    return Response(encode_json(body), 400, media_type="application/json")
