"""The product installs as its own distribution, and everything that names it says so."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import tomllib
from pathlib import Path

import pytest

import nova_cli
from nova_cli import pubsub
from nova_cli.scaffold import apply, plan_app


def installed() -> importlib.metadata.Distribution:
    return importlib.metadata.distribution(nova_cli.DISTRIBUTION)


def test_the_package_is_installed_as_this_distribution() -> None:
    assert importlib.metadata.packages_distributions()["nova_cli"] == [nova_cli.DISTRIBUTION]
    assert installed().metadata["Name"] == nova_cli.DISTRIBUTION != "nova-cli"


def test_a_generated_app_depends_on_this_distribution(tmp_path: Path) -> None:
    apply(plan_app("shop", tmp_path / "shop"))
    project = tomllib.loads((tmp_path / "shop" / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == [nova_cli.DISTRIBUTION]


def test_a_redis_app_depends_on_an_extra_that_exists(tmp_path: Path) -> None:
    apply(plan_app("shop", tmp_path / "shop", redis=True))
    project = tomllib.loads((tmp_path / "shop" / "pyproject.toml").read_text())["project"]
    found = re.fullmatch(r"([\w.-]+)\[(\w+)\]", project["dependencies"][0])
    assert found and found[1] == nova_cli.DISTRIBUTION, project["dependencies"]
    assert found[2] in (installed().metadata.get_all("Provides-Extra") or [])


def test_the_missing_redis_client_names_an_extra_that_exists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "redis" else real(name, *a)
    )
    with pytest.raises(ValueError) as error:
        pubsub.PubSub.from_url("redis://127.0.0.1:6379/0")
    found = re.search(r"pip install '([\w.-]+)\[(\w+)\]'", str(error.value))
    assert found, str(error.value)
    assert found[1] == nova_cli.DISTRIBUTION
    assert found[2] in (installed().metadata.get_all("Provides-Extra") or [])
    in_extra = re.compile(rf"""^redis\b.*extra\s*==\s*['"]{found[2]}['"]""")
    assert any(in_extra.search(r) for r in installed().requires or [])  # and it brings redis
