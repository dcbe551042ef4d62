"""The peer of the chat handler: a hand-written Starlette broadcast endpoint.

A set of sockets; each text frame is sent to every socket, one by one.
"""

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

sockets: set[WebSocket] = set()


async def chat(ws: WebSocket) -> None:
    await ws.accept()
    sockets.add(ws)
    try:
        while True:
            message = await ws.receive_text()
            for member in list(sockets):
                try:
                    await member.send_text(message)
                except Exception:
                    sockets.discard(member)
    except WebSocketDisconnect:
        pass
    finally:
        sockets.discard(ws)


app = Starlette(routes=[WebSocketRoute("/chat", chat)])
