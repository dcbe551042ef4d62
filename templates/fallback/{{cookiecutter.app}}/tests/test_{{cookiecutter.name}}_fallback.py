"""{{ cookiecutter.app }}.controllers.{{ cookiecutter.name }}_fallback: resolve(req, invalid_return), called directly."""

import logging
from types import SimpleNamespace

from {{ cookiecutter.app }}.controllers import {{ cookiecutter.name }}_fallback as fallback


def test_resolve_answers_500_without_internals(caplog):
    req = SimpleNamespace(path="/somewhere", method="GET")
    with caplog.at_level(logging.WARNING):
        result = fallback.resolve(req, ("nonsense", 1))
    assert result == ("status", 500, {}, {"error": "internal server error"})
    assert "('nonsense', 1)" in caplog.text


def test_resolve_takes_any_value():
    req = SimpleNamespace(path="/somewhere", method="GET")
    assert fallback.resolve(req, None)[:2] == ("status", 500)
