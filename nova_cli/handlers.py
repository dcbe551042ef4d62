"""Custom return handlers, Nova's `nova_handlers` (see docs/controllers-and-handlers.md).

from nova_cli import handlers
handlers.register_handler("xml", my_xml_handler.handle)
"""

from nova_cli.runtime.return_handlers import get_handler, register_handler, unregister_handler

__all__ = ["register_handler", "unregister_handler", "get_handler"]
