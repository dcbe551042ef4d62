"""The chat page: GET /chat, which opens the WebSocket at /chat (chat_ws_handler)."""


def index(req):
    """GET /chat (behind auth.require_authenticated)"""
    return ("ok", {"email": req.auth_data["email"]}, {"view": "chat"})
