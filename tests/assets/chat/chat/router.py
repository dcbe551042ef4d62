from chat.controllers import (
    broadcast_controller,
    chat_handler,
    echo_handler,
    state_handler,
)


def secure(req):
    token = req.query.get("token")
    if token == "good":
        return (True, {"user": "alice"})
    return False


def routes(environment):
    return [
        {
            "prefix": "",
            "security": False,
            "routes": [
                ("/ws", echo_handler, {"protocol": "ws"}),
                ("/chat", chat_handler, {"protocol": "ws"}),
                ("/state/:room", state_handler, {"protocol": "ws"}),
                ("/announce", broadcast_controller.announce, {"methods": ["post"]}),
                ("/announce_async", broadcast_controller.announce_async, {"methods": ["post"]}),
                ("/members", broadcast_controller.members, {"methods": ["get"]}),
            ],
        },
        {
            "prefix": "/secure",
            "security": secure,
            "routes": [("/ws", state_handler, {"protocol": "ws"})],
        },
    ]
