"""Routes the fault and attack tests aim at."""

from hostile.controllers import inspect_controller, room_handler, slow_handler


def slow_guard(req):
    """A sync security callable: it runs in a thread, so a client can vanish meanwhile."""
    import time

    time.sleep(float(req.query.get("guard_delay", "0")))
    return (True, {"user": req.query.get("user", "anon")})


def routes(environment):
    return [
        {
            "prefix": "",
            "security": False,
            "routes": [
                ("/room/:room", room_handler, {"protocol": "ws"}),
                ("/slow", slow_handler, {"protocol": "ws"}),
                ("/stats", inspect_controller.stats, {"methods": ["get"]}),
                ("/members/:room", inspect_controller.members, {"methods": ["get"]}),
            ],
        },
        {
            "prefix": "/guarded",
            "security": slow_guard,
            "routes": [("/:room", room_handler, {"protocol": "ws"})],
        },
    ]
