"""File descriptors: as many as the system allows, and noticing when they run out.

A server raises its open-file soft limit to the hard limit when it starts
(`raise_open_file_limit`): each connection holds a descriptor.

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


# Descriptors a worker keeps for itself: stdio, the listening socket, the
# event loop's, pipes to the supervisor, Redis, files being sent.  An idle
# worker holds about 20.
RESERVED = 64


def raise_open_file_limit() -> int:
    """Raise this process's open-file soft limit to its hard limit; return the soft limit.

    Each connection holds a descriptor, and the soft limit many systems start
    with (1,024) stops a worker long before its memory does.  Where the hard
    limit cannot be taken whole (macOS caps "unlimited"), the limit stays.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def connections_allowed(limit: int) -> int | None:
    """About how many connections `limit` open files leave room for; None: no limit."""
    if limit == resource.RLIM_INFINITY:
        return None
    return max(0, limit - RESERVED)
