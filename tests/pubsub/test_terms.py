"""What may cross between nodes: `terms.check` and the codec agree, value for value."""

from __future__ import annotations

import collections
import enum
import math
import random
from typing import Any, NamedTuple

import msgpack
import pytest

from nova_cli import terms
from nova_cli.pid import Pid


class Colour(enum.IntEnum):
    RED = 1


class Name(str):
    pass


class Point(NamedTuple):
    x: int
    y: int


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            same(ka, kb) and same(va, vb)
            for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=True)
        )
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def carried(value: Any) -> bool:
    """True when the codec encodes `value` and gives it back identical."""
    try:
        return same(terms.decode(terms.encode(value)), value)
    except (TypeError, ValueError, OverflowError):
        return False


def checked(value: Any) -> bool:
    try:
        terms.check(value)
    except TypeError:
        return False
    return True


# Leaves: what may cross, and what may not (mostly lookalikes of what may).
GOOD_LEAVES = [
    lambda r: None,
    lambda r: r.random() < 0.5,
    lambda r: r.randint(-(2**63), 2**64 - 1),
    lambda r: r.choice([0, -1, 2**63, 2**64 - 1, -(2**63)]),
    lambda r: r.uniform(-1e300, 1e300),
    lambda r: r.choice([float("nan"), float("inf"), -0.0]),
    lambda r: "".join(chr(r.randint(0, 0x10FFFF)) for _ in range(r.randint(0, 8))),
    lambda r: r.choice(["", "chat", "\ud800", "é"]),
    lambda r: r.randbytes(r.randint(0, 8)),
    lambda r: Pid(f"{r.randint(0, 99)}@node", r.randint(-(2**63), 2**63 - 1)),
]
BAD_LEAVES = [
    lambda r: r.choice([2**64, -(2**63) - 1, 2**100]),
    lambda r: {1, 2},
    lambda r: frozenset({1}),
    lambda r: bytearray(b"x"),
    lambda r: memoryview(b"x"),
    lambda r: object(),
    lambda r: len,
    lambda r: Colour.RED,
    lambda r: Name("subclass"),
    lambda r: Point(1, 2),
    lambda r: collections.OrderedDict(a=1),
    lambda r: collections.defaultdict(list),
    lambda r: complex(1, 2),
    lambda r: msgpack.ExtType(1, b"\x90"),
    lambda r: Pid("node", "not an int"),  # type: ignore[arg-type]
    lambda r: Pid("node", 2**63),
    lambda r: Pid(b"node", 1),  # type: ignore[arg-type]
]


def leaf(r: random.Random, bad: float) -> Any:
    return r.choice(BAD_LEAVES if r.random() < bad else GOOD_LEAVES)(r)


def key(r: random.Random, bad: float) -> Any:
    """A hashable value (a dict key), sometimes one that cannot cross."""
    choice = r.random()
    if choice < bad:
        return r.choice([frozenset({1}), Colour.RED, Name("k"), Point(1, 2), 2**64])
    if choice < 0.3:
        return tuple(key(r, bad) for _ in range(r.randint(0, 3)))
    value = leaf(r, 0)
    return value if not isinstance(value, float) or not math.isnan(value) else "nan"


def value(r: random.Random, depth: int, bad: float) -> Any:
    if depth == 0 or r.random() < 0.3:
        return leaf(r, bad)
    size = r.randint(0, 4)
    kind = r.choice(["list", "tuple", "dict"])
    if kind == "dict":
        return {key(r, bad): value(r, depth - 1, bad) for _ in range(size)}
    items = [value(r, depth - 1, bad) for _ in range(size)]
    return items if kind == "list" else tuple(items)


def test_check_accepts_exactly_what_the_codec_carries() -> None:
    r = random.Random(20240611)
    outcomes = collections.Counter()
    for _ in range(4000):
        sample = value(r, 4, bad=0.04)
        verdict = checked(sample)
        assert verdict == carried(sample), f"check says {verdict} for {sample!r}"
        outcomes[verdict] += 1
    # Both verdicts are frequent, so the agreement means something.
    assert outcomes[True] > 1000 and outcomes[False] > 1000, outcomes


def test_every_leaf_alone_agrees() -> None:
    r = random.Random(1)
    for make in GOOD_LEAVES:
        for _ in range(50):
            sample = make(r)
            assert checked(sample) and carried(sample), sample
    for make in BAD_LEAVES:
        sample = make(r)
        assert not checked(sample) and not carried(sample), sample


def test_tuples_lists_and_pids_come_back_as_themselves() -> None:
    envelope = ("nova_pubsub", "chat", Pid("a@1", 3), ("t", 1), [("x",), [], ()])
    back = terms.decode(terms.encode(envelope))
    assert same(back, envelope)
    match back:
        case ("nova_pubsub", "chat", Pid(node="a@1", id=3), ("t", 1), [("x",), [], ()]):
            pass
        case _:
            pytest.fail(f"does not match as it went: {back!r}")


@pytest.mark.parametrize(
    ("bad", "where", "what"),
    [
        ({1}, "payload", "of type set"),
        ({"users": [1, 2, {"a": object()}]}, "payload['users'][2]['a']", "of type object"),
        ([2**64], "payload[0]", "an int of 65 bits"),
        ((1, len), "payload[1]", "of type builtin_function_or_method"),
        ({frozenset(): 1}, "payload key frozenset()", "of type frozenset"),
        ([Colour.RED], "payload[0]", f"of type {__name__}.Colour"),
    ],
)
def test_the_error_names_the_type_and_where_it_is(bad: Any, where: str, what: str) -> None:
    with pytest.raises(TypeError) as error:
        terms.check(bad, "payload")
    message = str(error.value)
    assert message.startswith(f"{where} is {what}, which cannot cross between nodes")
    assert "\n" not in message


@pytest.mark.parametrize("value", [[214, -1], [b"\xd6\xff\x00\x00\x00\x00", ("x", Pid("n", 1))]])
def test_the_bytes_of_a_timestamp_tag_in_a_real_message_are_no_problem(value: Any) -> None:
    assert b"\xd6\xff" in terms.encode(value) and same(terms.decode(terms.encode(value)), value)


def test_nesting_is_bounded_even_for_a_cycle() -> None:
    deep: Any = "bottom"
    for level in range(terms.MAX_DEPTH):
        deep = [deep] if level % 2 else (deep, b"\xd6\xff")
    terms.check(deep)
    message = ["version", ("an envelope", deep)]  # the wire wraps it in two more levels
    assert same(terms.decode(terms.encode(message)), message)
    with pytest.raises(TypeError, match=f"nested deeper than {terms.MAX_DEPTH} levels"):
        terms.check([deep])
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(TypeError, match="nested deeper"):
        terms.check(cycle)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xc1",
        b"\x92\x01",  # an array cut short
        b"\xd4\x05\x00",  # an unknown extension type
        b"\xc7\x01\x02\x00",  # a pid shorter than its 8-byte id
        b"\xd4\x01\x00",  # a tuple marker alone
        b"\x92\x01\xd4\x01\x00",  # a tuple marker out of its place
        b"\x92\xc7\x00\x01\xc7\x00\x01",  # two markers, one tuple
        b"\x81\xc7\x00\x01\x01",  # a marker as a map key
        b"\x81\x91\x01\x01",  # a map keyed by an (unhashable) array
        b"\xa1\xff",  # a str that is not UTF-8
        b"\x92\x01\xd6\xff\x00\x00\x00\x00",  # msgpack's own timestamp extension
        b"\xc7\x0c\xff" + bytes(12),  # the same, on 12 bytes
        b"\x91" * 100_000 + b"\x90",  # arrays nested far too deep
        b"\x92\xc7\x00\x01" * 100_000 + b"\x90",  # tuples nested far too deep
    ],
)
def test_bad_bytes_are_a_value_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="not an encoded message"):
        terms.decode(data)


def test_the_memory_backend_never_loads_msgpack() -> None:
    import subprocess
    import sys

    script = (
        "import sys; from nova_cli import pubsub, process\n"
        "pubsub.local_broadcast('chat', 't', {'a': (1, [2])})\n"
        "process.send(process.self(), ('x', 1))\n"
        "assert 'msgpack' not in sys.modules, 'msgpack was imported'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
