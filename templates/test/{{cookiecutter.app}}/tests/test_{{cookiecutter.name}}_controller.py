"""{{ cookiecutter.app }}.controllers.{{ cookiecutter.name }}_controller, through the app's router.

Written by `nova gen test {{ cookiecutter.name }}`: one test per route and
method, each checking that the controller answers without an error (a
binding such as `:id` is given 1). Pin what each should answer: the
status, the JSON, the headers.
"""

from pathlib import Path

import pytest
from nova_cli.testing import app_client

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client():
    """The whole app in process, lifespan included (see nova_cli.testing)."""
    with app_client(root=ROOT) as client:
        yield client
{%- for case in cookiecutter.cases.split(";") %}
{%- set function, method, path = case.split(" ") %}


def {{ function }}(client):
{%- if method in ("post", "put", "patch") %}
    response = client.{{ method }}("{{ path }}", json={})
{%- elif method in ("get", "delete", "head", "options") %}
    response = client.{{ method }}("{{ path }}")
{%- else %}
    response = client.request("{{ method | upper }}", "{{ path }}")
{%- endif %}
    assert response.status_code < 500, response.text
{%- endfor %}
