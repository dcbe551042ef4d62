"""`req.session`: the session of one request, a dict-like object the request holds.

The request holds its own copy of the data, so a write is read back at once
in the same request (whatever the backend), and what it changed is found by
comparing that copy with what was loaded: nested changes
(`req.session["cart"].append(item)`) are saved too, with no flag to set.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from types import MappingProxyType
from typing import Any

from nova_cli.terms import SCALARS

IMMUTABLE = SCALARS | {int}
_MISSING = object()


class Session(MutableMapping[Any, Any]):
    """The session data of one request; the store saves it after the controller."""

    __slots__ = (
        "id",
        "data",
        "loaded",
        "own",
        "created",
        "seen",
        "discard",
        "rotated",
        "destroyed",
    )

    def __init__(
        self,
        sid: str | None = None,
        loaded: dict[Any, Any] | None = None,
        created: float | None = None,
        seen: float | None = None,
    ) -> None:
        self.id = sid  # None until the session is first saved (or after rotate / destroy)
        # What was loaded, never changed (the backend's own record, in memory).
        self.loaded: dict[Any, Any] = loaded if loaded is not None else {}
        self.data = self.loaded  # until `own` says it is the request's copy
        self.own = False
        self.created = created
        self.seen = seen
        self.discard: list[str] = []  # ids to delete from the backend when saving
        self.rotated = False
        self.destroyed = False

    def _mine(self) -> dict[Any, Any]:
        if not self.own:
            self.data, self.own = copy_term(self.loaded), True
        return self.data

    def __getitem__(self, key: Any) -> Any:
        value = self.data[key]
        return value if type(value) in IMMUTABLE else self._mine()[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._mine()[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._mine()[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def get(self, key: Any, default: Any = None) -> Any:
        # The usual read, without MutableMapping's detour.
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            return default
        return value if type(value) in IMMUTABLE else self._mine()[key]

    def __repr__(self) -> str:
        return f"<Session {self.data!r}>"

    @property
    def changed(self) -> bool:
        """The data differs from what the request loaded."""
        return self.own and self.data != self.loaded

    def rotate(self) -> None:
        """A new id for the same data; the old id stops working when the request ends."""
        if self.id is not None:
            self.discard.append(self.id)
            self.id = None
            self.rotated = True

    def destroy(self) -> None:
        """Forget the session: its data, its id in the backend, and the client's cookie."""
        if self.id is not None:
            self.discard.append(self.id)
        self.id = None
        self.data, self.loaded, self.own = {}, {}, True
        self.created = None
        self.rotated = False
        self.destroyed = True

    def snapshot(self) -> MappingProxyType[Any, Any]:
        """A read-only copy of the data (what a WebSocket's `init` gets)."""
        return MappingProxyType(copy_term(self.data))


def copy_term(value: Any) -> Any:
    """A deep copy of a value `nova_cli.terms` allows (immutable parts are shared)."""
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in IMMUTABLE else copy_term(v) for k, v in value.items()}
    if kind is list:
        return [copy_term(item) for item in value]
    if kind is tuple:
        return tuple(copy_term(item) for item in value)
    return value
