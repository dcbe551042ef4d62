"""Which apps use sessions, as `nova run --workers N` reads them from their code."""

from __future__ import annotations

import pytest

from nova_cli.runtime.session_use import uses_sessions
from tests.runtime.conftest import Apps

PLAIN = """
def routes(environment):
    return [{"routes": [("/", lambda req: ("json", {}), {"methods": ["get"]})]}]
"""


@pytest.mark.parametrize(
    "code",
    [
        "from nova_cli import session\n",
        "import nova_cli.session\n",
        "from nova_cli.session import get\n",
        "def f(req):\n    return req.session.get('user')\n",
    ],
)
def test_code_that_reads_sessions(apps: Apps, code: str) -> None:
    root = apps.write({"router.py": PLAIN, "controllers/__init__.py": "", "controllers/c.py": code})
    assert uses_sessions(apps.app(root).router.table)


def test_the_csrf_plugin(apps: Apps) -> None:
    root = apps.write({"router.py": PLAIN}, tool_nova='plugins = [["pre_request", "csrf", {}]]\n')
    assert uses_sessions(apps.app(root).router.table)


def test_an_app_without_sessions(apps: Apps) -> None:
    root = apps.write({"router.py": PLAIN, "notes.py": "session = 'a word, not the API'\n"})
    assert not uses_sessions(apps.app(root).router.table)
