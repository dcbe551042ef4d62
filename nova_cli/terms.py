"""What may cross between nodes: the values a message can hold, checked and encoded.

Erlang sends any term from node to node; an arbitrary Python object cannot
cross as safely.  A message, and a broadcast's channel and topic, may hold:

    None, bool, int (from -2**63 to 2**64 - 1), float, str, bytes,
    list, tuple, dict (its keys of these kinds too), Pid

nested at most `MAX_DEPTH` levels, and of exactly these types: a subclass
(an IntEnum, a defaultdict, a NamedTuple other than Pid) would come back as
its base type, so it is refused.  Everything else comes back as it went: a
tuple as a tuple, a list as a list, a Pid as a Pid, any str (lone
surrogates included) as the same str.

`check` runs at the call, in `pubsub.broadcast`, `pubsub.local_broadcast`,
`pubsub.join` and `process.send`, with every backend: an app that works in
memory does not break once its workers share Redis.  `encode` and `decode`
are the Redis backend's codec, msgpack with extension types for tuples and
pids.  Decoding builds nothing but such values, so bytes from anyone run no
code.  msgpack is imported on first use: the memory backend never loads it.
"""

from __future__ import annotations

import functools
import reprlib
from typing import Any

from nova_cli.pid import Pid

__all__ = ["MAX_DEPTH", "SCALARS", "check", "encode", "decode"]

MAX_DEPTH = 100
INT_MIN, INT_MAX = -(2**63), 2**64 - 1  # msgpack's integers
PID_MIN, PID_MAX = -(2**63), 2**63 - 1  # a pid's id crosses as 8 signed bytes
CARRIABLE = "None, bool, int (64-bit), float, str, bytes, list, tuple, dict and Pid"

# The types that cross as they are, whatever their value: checking one is a set lookup.
SCALARS = frozenset({type(None), bool, float, str, bytes})
_TUPLE, _PID = 1, 2  # msgpack extension type codes
_SURROGATES = {"unicode_errors": "surrogatepass"}  # so that every str crosses


def check(value: Any, name: str = "message") -> None:
    """Raise `TypeError` unless `value` can cross between nodes.

    The error names the type of the first value that cannot, and where it
    sits (`payload['users'][2]`); `name` says what `value` is.
    """
    if type(value) in SCALARS:  # the usual payload, a str: one set lookup
        return
    problem = _problem(value, 0)
    if problem is not None:
        path, what = problem
        if len(path) > 80:
            path = path[:77] + "..."
        raise TypeError(
            f"{name}{path} is {what}, which cannot cross between nodes "
            f"(a message holds only {CARRIABLE})"
        )


def _problem(value: Any, depth: int) -> tuple[str, str] | None:
    """Where in `value` the first thing that cannot cross sits, and what it is.

    Scalars inside containers are checked in the loops, not by a call each:
    this walk runs for every payload that is not a scalar.
    """
    kind = type(value)
    if kind in SCALARS:
        return None
    if kind is int:
        if INT_MIN <= value <= INT_MAX:
            return None
        return "", f"an int of {value.bit_length()} bits"
    if kind is Pid:
        return None if _valid_pid(value) else ("", f"a malformed {value!r}")
    if depth >= MAX_DEPTH:
        return "", f"nested deeper than {MAX_DEPTH} levels"
    scalars = SCALARS
    if kind is list or kind is tuple:
        for index, item in enumerate(value):
            if type(item) not in scalars:
                problem = _problem(item, depth + 1)
                if problem is not None:
                    return f"[{index}]{problem[0]}", problem[1]
        return None
    if kind is dict:
        for key, item in value.items():
            if type(key) not in scalars:
                problem = _problem(key, depth + 1)
                if problem is not None:
                    return f" key {reprlib.repr(key)}{problem[0]}", problem[1]
            if type(item) not in scalars:
                problem = _problem(item, depth + 1)
                if problem is not None:
                    return f"[{reprlib.repr(key)}]{problem[0]}", problem[1]
        return None
    return "", f"of type {_type_name(kind)}"


def _valid_pid(pid: Pid) -> bool:
    return type(pid.node) is str and type(pid.id) is int and PID_MIN <= pid.id <= PID_MAX


def _type_name(kind: type) -> str:
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def encode(value: Any) -> bytes:
    """`value` as msgpack; a value `check` refuses raises `TypeError` (of a few
    kinds, `check` is the one that says where)."""
    import msgpack

    try:
        return msgpack.packb(value, default=_extension, strict_types=True)
    except UnicodeEncodeError:  # a lone surrogate: rare, and slower to pack
        return msgpack.packb(value, default=_extension, strict_types=True, **_SURROGATES)


def _extension(value: Any) -> Any:
    kind = type(value)
    if kind is tuple:
        # msgpack has no tuple: a tuple crosses as an array headed by an empty
        # extension, its marker.  One packer packs it all, and decoding never
        # recurses (nested extensions would, and a deep enough message would
        # exhaust the C stack).
        return [_tuple_marker(), *value]
    if kind is Pid and _valid_pid(value):  # valid first: Pid("n", True) == Pid("n", 1)
        return _pid_extension(value)
    raise TypeError(f"cannot encode a value of type {_type_name(kind)}")


@functools.cache
def _tuple_marker() -> Any:
    import msgpack

    return msgpack.ExtType(_TUPLE, b"")


@functools.lru_cache(maxsize=4096)  # the same pids cross again and again
def _pid_extension(pid: Pid) -> Any:
    import msgpack

    ident = pid.id.to_bytes(8, "big", signed=True)
    return msgpack.ExtType(_PID, ident + pid.node.encode("utf-8", "surrogatepass"))


_MARKER = object()  # a decoded tuple marker, until its array becomes the tuple


def decode(data: bytes) -> Any:
    """The value `encode` made `data` from; any other bytes raise `ValueError`."""
    try:
        value = _unpack(data, {})
    except UnicodeDecodeError:  # a lone surrogate, or bytes that are not UTF-8
        value = _unpack(data, _SURROGATES)
    # msgpack decodes its own timestamp extension (-1) without asking ext_hook.
    # Its tags are rare in real messages (by chance, in bytes or between
    # numbers): only then walk the value, and refuse what `encode` cannot make.
    # (0xff first: one memchr, where the three tags are three slower searches.)
    if b"\xff" in data and (b"\xd6\xff" in data or b"\xd7\xff" in data or b"\xc7\x0c\xff" in data):
        problem = _problem(value, -MAX_DEPTH)  # a message wraps a payload: room to nest
        if problem is not None:
            raise ValueError(f"not an encoded message: it holds {problem[1]}")
    return value


def _unpack(data: bytes, options: dict[str, str]) -> Any:
    import msgpack

    markers = 0  # tuple markers decoded but not yet made into tuples

    def extension(code: int, payload: bytes) -> Any:
        nonlocal markers
        if code == _TUPLE and not payload:
            markers += 1
            return _MARKER
        if code == _PID and len(payload) >= 8:
            name = payload[8:].decode("utf-8", "surrogatepass")
            return Pid(name, int.from_bytes(payload[:8], "big", signed=True))
        raise ValueError(f"unknown msgpack extension {code} of {len(payload)} bytes")

    def array(items: list[Any]) -> Any:
        nonlocal markers
        if items and items[0] is _MARKER:
            markers -= 1
            return tuple(items[1:])
        return items

    try:
        value = msgpack.unpackb(
            data, ext_hook=extension, list_hook=array, strict_map_key=False, **options
        )
    except UnicodeDecodeError:
        if options:
            raise ValueError("not an encoded message: a str that is not UTF-8") from None
        raise
    except (ValueError, TypeError) as exc:
        # msgpack's own errors are ValueErrors; an unhashable map key is a TypeError.
        raise ValueError(f"not an encoded message: {type(exc).__name__} {exc}".rstrip()) from None
    if markers:
        raise ValueError("not an encoded message: a tuple marker out of place")
    return value
