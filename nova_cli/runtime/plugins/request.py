"""The request plugin (Nova's `nova_request_plugin`): decode bodies and query strings.

Options: `decode_json_body` (JSON body → `req.json`; malformed, or holding a
value JSON cannot send back such as NaN, → 400; see `json_body`),
`read_urlencoded_body` (form body → `req.params`), `parse_qs` (`True` →
`req.parsed_qs` as a dict, `"list"` → a list of pairs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from nova_cli import __version__
from nova_cli.runtime import json_body
from nova_cli.runtime.errors import error_body
from nova_cli.runtime.request import Request

OPTIONS = ("decode_json_body", "read_urlencoded_body", "parse_qs")


def plugin_info() -> dict[str, Any]:
    """What `nova middleware` shows for this plugin (Nova's `plugin_info/0`)."""
    return {
        "title": "nova request plugin",
        "version": __version__,
        "description": "decodes JSON and form bodies and query strings",
    }


def validate_options(options: Mapping[str, Any]) -> None:
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise ValueError(f"request plugin: unknown options {sorted(unknown)} (allowed: {OPTIONS})")


async def pre_request(req: Request, options: Mapping[str, Any]) -> Any:
    content_type = req.headers.get("content-type", "").split(";")[0].strip().lower()
    is_json = content_type == "application/json" or content_type.endswith("+json")
    # Nova skips GET and DELETE: their bodies carry no meaning.
    if options.get("decode_json_body") and is_json and req.method not in ("GET", "HEAD", "DELETE"):
        error = _decode_json(req)
        if error:
            return ("stop", ("status", 400, {}, error_body(400, error)))
    if options.get("read_urlencoded_body") and content_type == "application/x-www-form-urlencoded":
        try:
            text = req.body.decode()
        except UnicodeDecodeError:
            return ("stop", ("status", 400, {}, error_body(400, "form body is not UTF-8")))
        req.params = dict(parse_qsl(text, keep_blank_values=True))
    mode = options.get("parse_qs")
    if mode:
        pairs = req.query.multi_items()
        req.parsed_qs = list(pairs) if mode == "list" else dict(pairs)
    return None


def _decode_json(req: Request) -> str | None:
    try:
        req.json = json_body.decode(req.body)
    except json_body.BadJson as exc:
        return str(exc)
    return None
