"""What the tests read back: live processes, members, terminate calls."""

import os

from nova_cli import process, pubsub


def stats(req):
    log = os.environ.get("HOSTILE_TERMINATE_LOG")
    terminated = 0
    if log and os.path.exists(log):
        with open(log) as f:
            terminated = sum(1 for _ in f)
    return ("json", {"processes": len(process._processes), "terminated": terminated})


def members(req):
    return ("json", {"members": len(pubsub.get_local_members(req.bindings["room"]))})
