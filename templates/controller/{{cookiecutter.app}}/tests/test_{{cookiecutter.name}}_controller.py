"""{{ cookiecutter.app }}.controllers.{{ cookiecutter.name }}_controller, through the app's router."""

from pathlib import Path

import pytest
from nova_cli.testing import app_client

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client():
    """The whole app in process, lifespan included (see nova_cli.testing)."""
    with app_client(root=ROOT) as client:
        yield client
{%- for action in cookiecutter.actions.split(",") %}


def test_{{ action }}(client):
{%- if action == "index" %}
    response = client.get("/{{ cookiecutter.name }}")
    assert response.status_code == 200
    assert response.json() == {"action": "index"}
{%- elif action == "show" %}
    response = client.get("/{{ cookiecutter.name }}/42")
    assert response.status_code == 200
    assert response.json() == {"action": "show", "id": "42"}
{%- else %}
    response = client.get("/{{ cookiecutter.name }}/{{ action }}")
    assert response.status_code == 200
    assert response.json() == {"action": "{{ action }}"}
{%- endif %}
{%- endfor %}
