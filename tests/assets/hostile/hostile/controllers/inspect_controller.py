"""What the tests read back: live processes, members, terminate calls."""

import gc
import os

from nova_cli import process, pubsub


def stats(req):
    log = os.environ.get("HOSTILE_TERMINATE_LOG")
    terminated = 0
    if log and os.path.exists(log):
        with open(log) as f:
            terminated = sum(1 for _ in f)
    stats = {"processes": len(process._processes), "terminated": terminated}
    if "protocols" in req.query:  # server protocol objects still alive (a full GC walk)
        gc.collect()
        names = {"NovaHttpProtocol": "http_protocols", "NovaWebSocketProtocol": "ws_protocols"}
        stats.update(dict.fromkeys(names.values(), 0))
        for obj in gc.get_objects():
            name = names.get(type(obj).__name__)
            if name:
                stats[name] += 1
    return ("json", stats)


def members(req):
    return ("json", {"members": len(pubsub.get_local_members(req.bindings["room"]))})
