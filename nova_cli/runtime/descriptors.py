"""Noticing that the process has run out of file descriptors.

At the `RLIMIT_NOFILE` limit, `accept()` fails with EMFILE.  asyncio's own
loop logs a traceback for it, but uvloop (libuv) says nothing: libuv closes
a spare descriptor it keeps for the purpose, accepts the waiting
connections and closes them at once, so clients see a reset and the server
log stays empty.  No hook runs for those connections, so the check is made
on the ones that do get through: after each accepted connection, one `dup()`
tells whether a descriptor is left for the next.  When none is, the next
clients are dropped, and a warning says so (at most one line every few
seconds).
"""

from __future__ import annotations

import errno
import logging
import os
import resource

from nova_cli.runtime.logthrottle import ThrottledLog

_warning = ThrottledLog(logging.getLogger("uvicorn.error"))


def no_descriptor_left(fd: int) -> bool:
    """True when the process cannot open one more file descriptor.

    `fd` is any open descriptor (the new connection's): duplicating it is the
    cheapest way to ask the kernel for one more.
    """
    try:
        os.close(os.dup(fd))
    except OSError as exc:
        return exc.errno in (errno.EMFILE, errno.ENFILE)
    return False


def warn_if_exhausted(fd: int) -> None:
    """Log (throttled) that new connections are being dropped when no descriptor is left."""
    if no_descriptor_left(fd):
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        _warning.log(
            logging.WARNING,
            "Out of file descriptors (limit %d): new connections are dropped until some "
            "close; raise the limit (ulimit -n) or lower the load",
            soft,
        )
