"""The {{ cookiecutter.name }} fallback controller, for return values no handler knows.

Use it from a controller module:

    from {{ cookiecutter.app }}.controllers import {{ cookiecutter.name }}_fallback

    fallback_controller = {{ cookiecutter.name }}_fallback

When one of that module's functions returns something that is not a Nova
return value (`None`, a typo'd tag, ...), `resolve(req, invalid_return)` is
called and what it returns is handled as usual.
"""

import logging

log = logging.getLogger(__name__)


def resolve(req, invalid_return):
    """Log the unexpected value and answer 500, without internals in the body."""
    log.warning("invalid return value for %s: %r", req.path, invalid_return)
    return ("status", 500, {}, {"error": "internal server error"})
