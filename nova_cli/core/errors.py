"""The errors that are the user's input, not nova_cli's bug: the CLI prints them in one line.

Raised by the settings (`ConfigError`), the project discovery
(`AppNotFound`) and the route table's validation (`RouteTableError`); here,
so that the CLI can name them without importing the runtime.
"""


class ConfigError(ValueError):
    """A bad `[tool.nova]` value or `NOVA_*` variable; the message names it."""


class AppNotFound(LookupError):
    """No Nova project here, or its app package cannot be found."""


class RouteTableError(ValueError):
    """The route table is invalid; the message names the group and the entry."""


USER_ERRORS = (ConfigError, AppNotFound, RouteTableError)
