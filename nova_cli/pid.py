"""Pids and the node they name.

A node is one OS process serving the app (a worker).  Its name is made the
first time it is needed, and made again in a child after `os.fork()`: a
server that imports the app and then forks its workers (gunicorn
`--preload`) must not give every worker the name of the parent, or each
would take its siblings' messages for its own.  The application names the
node for good when it starts (`fix_node`, from the lifespan).
"""

from __future__ import annotations

import os
import uuid
from typing import NamedTuple

__all__ = ["Pid", "node", "fix_node"]

_name = ""
_owner = 0  # the OS pid that made `_name`


def node() -> str:
    """This worker's node name: unique per OS process, so pids never collide."""
    return _name or _rename()


def fix_node() -> str:
    """Name the node for the OS process that serves (called at app start-up).

    A name made before a fork that skipped Python's fork hooks (a fork from
    C) belongs to another process: make a new one.
    """
    if _owner != os.getpid():
        _rename()
    return _name


def _rename() -> str:
    global _name, _owner
    _owner = os.getpid()
    _name = f"{uuid.uuid4().hex[:12]}@{_owner}"
    return _name


def _forget() -> None:
    global _name, _owner
    _name, _owner = "", 0


os.register_at_fork(after_in_child=_forget)


class Pid(NamedTuple):
    """A process identifier: `<node.id>`, like Erlang's `<0.123.0>`.

    A named tuple because pids are hashed for every member of every
    broadcast, and a tuple hashes in C.  Treat it as opaque.
    """

    node: str
    id: int

    def __str__(self) -> str:
        return f"<{self.node}.{self.id}>"

    def __repr__(self) -> str:
        return f"Pid({str(self)!r})"

    @property
    def is_local(self) -> bool:
        return self.node == node()

    def encode(self) -> str:
        """A string form for transports (`Pid.decode` reverses it)."""
        return f"{self.node}/{self.id}"

    @classmethod
    def decode(cls, text: str) -> Pid:
        name, _, ident = text.rpartition("/")
        return cls(name, int(ident))
