"""WebSocket close codes (RFC 6455, section 7.4), as the runtime and the dev server send them."""

NORMAL = 1000
GOING_AWAY = 1001  # the server shuts down for good
INVALID_DATA = 1007  # a text frame that is not UTF-8
POLICY = 1008  # an upgrade refused where no HTTP refusal can be sent
TOO_BIG = 1009  # a message over ws_max_message_size
INTERNAL = 1011  # a callback raised
SERVICE_RESTART = 1012  # the dev server replaces its worker
TRY_AGAIN = 1013  # a client too slow to read what it is sent
