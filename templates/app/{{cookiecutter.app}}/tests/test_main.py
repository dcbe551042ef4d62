"""The home page and the heartbeat, through the whole app: router, views, static."""

from pathlib import Path

import pytest
from nova_cli.testing import app_client

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client():
    """The whole app in process, lifespan included (see nova_cli.testing)."""
    with app_client(root=ROOT) as client:
        yield client


def test_home_page_says_hello(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Hello world!" in response.text


def test_heartbeat(client):
    response = client.get("/heartbeat")
    assert response.status_code == 200


def test_stylesheet_is_served(client):
    response = client.get("/assets/app.css")
    assert response.status_code == 200
    assert "text/css" in response.headers["content-type"]
