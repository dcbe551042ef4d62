from chat.controllers import (
    broadcast_controller,
    chat_handler,
    class_handler,
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
                ("/announce_later", broadcast_controller.announce_later, {"methods": ["post"]}),
                ("/announce_thread", broadcast_controller.announce_from_thread, {}),
                ("/klass", class_handler.Counter, {"protocol": "ws"}),
                ("/send", broadcast_controller.send, {"methods": ["post"]}),
            ],
        },
        {
            "prefix": "/secure",
            "security": secure,
            "routes": [("/ws", state_handler, {"protocol": "ws"})],
        },
    ]
