"""The names of what the runtime has built in, for the parts that must not import it.

The scaffold side reads these to refuse a custom handler that would shadow
a built-in one, or to find the request plugin in an app's settings; the
runtime registers exactly these (a test holds both sides to it).
"""

# The tags of the return values the runtime answers by itself: ("json", ...), ...
BUILTIN_HANDLERS = ("json", "ok", "view", "status", "redirect", "sendfile")

# Built-in plugins, by every name a route table may give them (Nova's included).
BUILTIN_PLUGINS = {
    "request": "nova_cli.runtime.plugins.request",
    "cors": "nova_cli.runtime.plugins.cors",
    "correlation": "nova_cli.runtime.plugins.correlation",
    "csrf": "nova_cli.runtime.plugins.csrf",
    "nova_request_plugin": "nova_cli.runtime.plugins.request",
    "nova_cors_plugin": "nova_cli.runtime.plugins.cors",
    "nova_correlation_plugin": "nova_cli.runtime.plugins.correlation",
    "nova_csrf_plugin": "nova_cli.runtime.plugins.csrf",
}


def plugin_module(ref: str) -> str:
    """The module a plugin reference names: a built-in's, or the reference itself."""
    return BUILTIN_PLUGINS.get(ref, ref)
