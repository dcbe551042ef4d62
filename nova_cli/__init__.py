"""nova_cli: Nova, the Erlang web framework, and its `rebar3 nova` tool, in Python."""

__version__ = "0.1.0"
