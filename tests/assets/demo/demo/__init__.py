"""A small app exercising every return shape, used by the runtime tests."""

from demo.handlers import xml_handler
from nova_cli.handlers import register_handler

register_handler("xml", xml_handler.handle)
