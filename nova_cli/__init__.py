"""nova_cli: Nova, the Erlang web framework, and its `rebar3 nova` tool, in Python."""

from nova_cli.core.httperror import HTTPError

__all__ = ["HTTPError"]
__version__ = "0.1.0"
# The distribution this package ships in, as pip knows it.  The names closer
# to the import package's belong to other projects on PyPI: never name them.
DISTRIBUTION = "nova-web"
