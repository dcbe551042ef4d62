from nova_cli import pubsub


def announce(req):
    pubsub.broadcast("chat", "message", req.body.decode())
    return ("status", 204)


async def announce_async(req):
    pubsub.broadcast("chat", "message", req.body.decode())
    return ("status", 204)


def members(req):
    return ("json", {"members": [str(p) for p in pubsub.get_members("chat")]})
