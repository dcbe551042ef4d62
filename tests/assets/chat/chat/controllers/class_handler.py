"""A handler written as a class: one instance per connection."""


class Counter:
    def __init__(self):
        self.instance_frames = 0

    def init(self, state):
        state["n"] = 0
        return ("ok", state)

    async def websocket_handle(self, frame, state):
        self.instance_frames += 1
        state["n"] += 1
        return ("reply", ("text", f"{state['n']}/{self.instance_frames}"), state)
