"""The Nova runtime on Starlette: route table, handlers, plugins, security, views."""

from nova_cli.runtime.app import create_app
from nova_cli.runtime.route_compiler import RouteTableError

__all__ = ["create_app", "RouteTableError"]
