"""nova_cli: Nova, the Erlang web framework, and its `rebar3 nova` tool, in Python."""

__version__ = "0.1.0"
# The distribution this package ships in, as pip knows it ("nova-cli" on PyPI
# is another project, and so is "nova": never name either).
DISTRIBUTION = "nova-web"
