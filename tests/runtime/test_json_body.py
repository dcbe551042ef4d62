"""json_body.decode: JSON bodies decode to nothing the response encoder cannot write."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nova_cli.runtime.json_body import MAX_DEPTH, BadJson, decode
from nova_cli.runtime.return_handlers import encode_json


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"title": NaN}', "JSON body cannot be accepted: NaN is not a JSON number"),
        (b"[1, Infinity]", "JSON body cannot be accepted: Infinity is not a JSON number"),
        (b'{"a": {"b": -Infinity}}', "JSON body cannot be accepted: -Infinity is not a JSON"),
        (b'{"n": 1e999}', "JSON body cannot be accepted: 1e999 is too large for a float"),
        (b"[-1E+400]", "JSON body cannot be accepted: -1E+400 is too large for a float"),
        (b"1" + b"0" * 400 + b".5", "JSON body cannot be accepted: 10000000000000000... is"),
        (b'{"title": "\\ud800"}', "JSON body cannot be accepted: lone surrogate '\\ud800'"),
        (b'["ok", ["x\\uDFFFy"]]', "JSON body cannot be accepted: lone surrogate '\\udfff'"),
        (b'{"\\udbff": 1}', "JSON body cannot be accepted: lone surrogate '\\udbff'"),
        (b'"\\ude00\\ud83d"', "JSON body cannot be accepted: lone surrogate"),  # pair reversed
        (b'{"t": "\xed\xa0\x80"}', "JSON body is not valid UTF-8/16/32"),  # raw, not escaped
        (b"", "empty JSON body"),
        (b" \n", "empty JSON body"),
        (b'{"a": ', "malformed JSON body: Expecting value"),
        (b"[" * 1000 + b"]" * 1000, f"JSON body nested deeper than {MAX_DEPTH} levels"),
        (b"[" * 100_000, f"JSON body nested deeper than {MAX_DEPTH} levels"),
    ],
)
def test_what_the_encoder_cannot_write_is_refused(body: bytes, message: str) -> None:
    with pytest.raises(BadJson) as refused:
        decode(body)
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)


def nested(depth: int, inner: Any = 1) -> str:
    text = json.dumps(inner)
    for level in range(depth):
        text = f'{{"k": {text}}}' if level % 2 else f"[{text}]"
    return text


def test_the_depth_limit_is_exact() -> None:
    assert decode(nested(MAX_DEPTH).encode()) is not None
    with pytest.raises(BadJson, match="nested deeper than"):
        decode(nested(MAX_DEPTH + 1).encode())


@pytest.mark.parametrize(
    "value",
    [
        {"title": "Dune", "price": 9.5, "year": 1965, "tags": ["sf"], "ok": True, "x": None},
        "\U0001f600",  # an escaped surrogate pair is one character, not a lone surrogate
        "\\ud800",  # a backslash and "ud800": no escape at all
        [[]] * 2000,  # many brackets, shallow: walked and accepted
        1e308,
        -(10**400),  # a big int is exact and encodes fine
        {"k": ["\ud7ff", "\ue000"]},  # just outside the surrogate range
    ],
)
def test_what_the_encoder_can_write_is_accepted(value: Any) -> None:
    for body in (json.dumps(value).encode(), json.dumps(value, ensure_ascii=False).encode()):
        decoded = decode(body)
        assert decoded == value
        assert json.loads(encode_json(decoded)) == value


def test_a_bom_and_utf_16_bodies_still_decode() -> None:
    assert decode(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    assert decode('{"a": "é"}'.encode("utf-16")) == {"a": "é"}
