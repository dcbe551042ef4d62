"""Jinja2 views under the app's `views/`."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from nova_cli.runtime.views import ViewNotFound, Views


@pytest.fixture
def views(tmp_path: Path) -> Views:
    (tmp_path / "main.html").write_text("<h1>{{ title }}</h1>")
    (tmp_path / "feed.xml").write_text("<t>{{ title }}</t>")
    (tmp_path / "notes.txt").write_text("{{ title }}")
    (tmp_path / "users").mkdir()
    (tmp_path / "users" / "show.html").write_text("{% include 'main.html' %}!")
    return Views(tmp_path)


def test_render_by_name_with_or_without_extension(views: Views) -> None:
    assert views.render("main", {"title": "Hi"}) == "<h1>Hi</h1>"
    assert views.render("main.html", {"title": "Hi"}) == "<h1>Hi</h1>"
    assert views.render("users/show", {"title": "Hi"}) == "<h1>Hi</h1>!"


def test_html_and_xml_are_autoescaped_text_is_not(views: Views) -> None:
    assert views.render("main", {"title": "<b>"}) == "<h1>&lt;b&gt;</h1>"
    assert views.render("feed.xml", {"title": "<b>"}) == "<t>&lt;b&gt;</t>"
    assert views.render("notes.txt", {"title": "<b>"}) == "<b>"


def test_missing_view_names_the_file_and_directory(views: Views, tmp_path: Path) -> None:
    with pytest.raises(ViewNotFound, match=f"view 'nope.html' not found in {tmp_path}"):
        views.render("nope", {})


def test_an_edited_template_is_served_fresh(views: Views, tmp_path: Path) -> None:
    assert views.render("main", {"title": "a"}) == "<h1>a</h1>"
    page = tmp_path / "main.html"
    page.write_text("<h2>{{ title }}</h2>")
    later = time.time() + 5
    os.utime(page, (later, later))  # mtime granularity must not hide the change
    assert views.render("main", {"title": "a"}) == "<h2>a</h2>"


def test_without_auto_reload_a_template_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "main.html").write_text("<h1>{{ title }}</h1>")
    views = Views(tmp_path, auto_reload=False)  # every environment but dev
    assert views.render("main", {"title": "a"}) == "<h1>a</h1>"
    page = tmp_path / "main.html"
    page.write_text("<h2>{{ title }}</h2>")
    later = time.time() + 5
    os.utime(page, (later, later))
    assert views.render("main", {"title": "a"}) == "<h1>a</h1>"
