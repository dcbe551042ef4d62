"""Decoding a JSON request body into nothing the JSON encoder cannot write back.

Python's json module reads more than the handlers' encoder (`encode_json`:
`allow_nan=False`, UTF-8) writes: `NaN`, `Infinity` and `-Infinity`, numbers
too large for a float (`1e999` reads as infinity), and escaped lone UTF-16
surrogates (`"\\ud800"`) all decode.  A controller that stores such a value
(the generated resource does) then fails every response that includes it,
until the process restarts.  So such a body is refused here, as is a body
nested deeper than `MAX_DEPTH`: at about 1,000 levels decoding itself raises
RecursionError, and a value close to that depth may overflow the stack when
it is encoded later, from a deeper call.

The common body pays for none of the checks that need a walk over the
decoded value: they run only when the raw text holds an escaped surrogate or
more than `MAX_DEPTH` brackets.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 512

# `\ud800` to `\udfff` escapes: a lone surrogate can only come from one of them.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# A valid escaped pair decodes to one character; a surrogate left over is lone.
_SURROGATE = re.compile("[\ud800-\udfff]")


class BadJson(ValueError):
    """A body that is not JSON, or holds what JSON cannot send back; the message says which."""


class _Unwritable(ValueError):
    """Raised from the decoder's hooks for a value the encoder would refuse."""


def _refuse_constant(name: str) -> Any:
    raise _Unwritable(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        shown = text if len(text) <= 20 else text[:17] + "..."
        raise _Unwritable(f"{shown} is too large for a float")
    return value


# One decoder for every request: json.loads with hooks would build one per call.
_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_refuse_constant)


def decode(body: bytes) -> Any:
    """The value of a JSON body, or BadJson naming what is wrong with it."""
    try:
        # Strict: surrogates encoded in the raw bytes are refused here (json.loads
        # on bytes would let them through with "surrogatepass").
        text = body.decode(json.detect_encoding(body))
    except UnicodeDecodeError as exc:
        raise BadJson(f"JSON body is not valid UTF-8/16/32: {exc}") from None
    if not text.strip():
        raise BadJson("empty JSON body")
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise BadJson(_too_deep()) from None
    except _Unwritable as exc:
        raise BadJson(f"JSON body cannot be accepted: {exc}") from None
    except ValueError as exc:
        raise BadJson(f"malformed JSON body: {exc}") from None
    surrogates = _SURROGATE_ESCAPE.search(text) is not None
    if surrogates or text.count("[") + text.count("{") > MAX_DEPTH:
        _check(value, surrogates)
    return value


def _too_deep() -> str:
    return f"JSON body nested deeper than {MAX_DEPTH} levels"


def _check(value: Any, surrogates: bool) -> None:
    """Refuse `value` if it nests too deep or (when `surrogates`) holds a lone surrogate."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            lone = _SURROGATE.search(item) if surrogates else None
            if lone:
                raise BadJson(f"JSON body cannot be accepted: lone surrogate {lone.group()!a}")
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise BadJson(_too_deep())
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                item = item.values()
            stack.extend((child, depth + 1) for child in item)
