"""What the generated-app tests run: every `nova gen` kind, once."""

GENERATORS = [
    ["controller", "users", "--actions", "index,show,stats"],
    ["ws-handler", "chat"],
    ["ws-handler", "room", "--pubsub", "lobby"],
    ["ws-handler", "hall", "--presence"],
    ["fallback", "oops"],
    ["handler", "xml"],
    ["resource", "books"],
    ["test", "main"],
    ["auth"],  # the generated app's tests then need sqlalchemy and argon2-cffi
]
