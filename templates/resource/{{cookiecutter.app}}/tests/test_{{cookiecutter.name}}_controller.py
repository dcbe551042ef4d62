"""The {{ cookiecutter.name }} resource through the app's router: create, list, show, update, delete."""

from pathlib import Path

import pytest
from nova_cli.testing import app_client

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client():
    """The whole app in process, lifespan included (see nova_cli.testing)."""
    with app_client(root=ROOT) as client:
        yield client


def test_create_show_update_delete(client):
    created = client.post("/{{ cookiecutter.name }}", json={"name": "first"})
    assert created.status_code == 201
    item = created.json()
    assert item["name"] == "first"
    url = f"/{{ cookiecutter.name }}/{item['id']}"
    assert created.headers["location"] == url

    assert client.get(url).json() == item
    assert item in client.get("/{{ cookiecutter.name }}").json()

    updated = client.put(url, json={"name": "second"})
    assert updated.status_code == 200
    assert updated.json() == {"name": "second", "id": item["id"]}

    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert client.delete(url).status_code == 404


def test_list_answers_json(client):
    response = client.get("/{{ cookiecutter.name }}")
    assert response.status_code == 200
    assert isinstance(response.json(), list)


def test_missing_ids_are_404(client):
    assert client.get("/{{ cookiecutter.name }}/999999").status_code == 404
    assert client.get("/{{ cookiecutter.name }}/not-a-number").status_code == 404
    assert client.put("/{{ cookiecutter.name }}/999999", json={"name": "x"}).status_code == 404


def test_a_body_that_is_not_a_json_object_is_400(client):
    assert client.post("/{{ cookiecutter.name }}", json=["not", "an", "object"]).status_code == 400
    malformed = client.post(
        "/{{ cookiecutter.name }}", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert client.post("/{{ cookiecutter.name }}", content=b"plain text").status_code == 400
