"""A limit on failed logins: 5 per email and 20 per client address within 15 minutes.

Past it, a login is refused with 429 and `retry-after` before its password is
checked, so the limit cannot be used to test passwords. The counts are kept
in memory, in each worker process: with `nova run --workers N` a client may
get up to N times as many tries, and a restart forgets them. Keep them in
Redis or in the database to share them between workers.
"""

import math
import threading
import time
from collections import deque

WINDOW = 15 * 60  # seconds
LIMITS = {"email": 5, "address": 20}
MAX_KEYS = 100_000  # a bound on memory: past it, the oldest counts are dropped

_failures = {}  # (kind, value) -> deque of failure times, oldest first
_lock = threading.Lock()


def retry_after(email, address):
    """Seconds before this email or address may try again (0: now)."""
    now = time.monotonic()
    wait = 0.0
    with _lock:
        for key in _keys(email, address):
            times = _prune(_failures.get(key, deque()), now)
            if len(times) >= LIMITS[key[0]]:
                wait = max(wait, times[0] + WINDOW - now)
    return math.ceil(wait)


def failed(email, address):
    """Count a failed login (or wrong current password) for the email and address."""
    now = time.monotonic()
    with _lock:
        for key in _keys(email, address):
            times = _prune(_failures.pop(key, deque()), now)
            times.append(now)
            _failures[key] = times  # most recently failed last
        while len(_failures) > MAX_KEYS:
            del _failures[next(iter(_failures))]


def succeeded(email):
    """Forget the failures of this email (those of the address stay counted)."""
    with _lock:
        _failures.pop(("email", email), None)


def message(wait):
    """What to tell the user who must wait `wait` seconds."""
    return f"too many failed attempts: try again in {math.ceil(wait / 60)} minutes"


def reset():
    """Forget every failure (tests)."""
    with _lock:
        _failures.clear()


def _keys(email, address):
    return [("email", email), ("address", address)]


def _prune(times, now):
    while times and times[0] <= now - WINDOW:
        times.popleft()
    return times
