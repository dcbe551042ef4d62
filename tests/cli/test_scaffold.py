"""scaffold: name checks, rendering, planning, and writes that happen whole or not at all."""

from __future__ import annotations

import os
import sys
from pathlib import PurePosixPath

import pytest

from nova_cli.scaffold import (
    Plan,
    Project,
    Rendered,
    ScaffoldError,
    Step,
    apply,
    plan_app,
    plan_files,
    plan_generator,
)
from nova_cli.scaffold import plan as scaffold
from tests.cli.conftest import read_only, snapshot

P = PurePosixPath


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("my-app", "Python identifier"),
        ("1app", "Python identifier"),
        ("", "Python identifier"),
        ("café", "Python identifier"),
        ("class", "keyword"),
        ("json", "standard-library module"),
        ("asyncio", "standard-library module"),
        ("nova_cli", "reserved"),
        ("nova", "reserved"),
        ("test", "reserved"),
        ("tests", "reserved"),
        ("starlette", "reserved"),
    ],
)
def test_bad_app_names_are_refused(name, why):
    with pytest.raises(ScaffoldError, match=why):
        scaffold.validate_app_name(name)


@pytest.mark.parametrize("name", ["myapp", "blog2", "My_App", "shop_api"])
def test_good_app_names_pass(name):
    scaffold.validate_app_name(name)


@pytest.mark.parametrize("name", ["Users", "user-s", "2fa", "def", "_private"])
def test_bad_generator_names_are_refused(name):
    with pytest.raises(ScaffoldError, match="not a valid controller name"):
        scaffold.validate_name("controller", name)


def test_a_suffix_nova_adds_is_refused():
    with pytest.raises(ScaffoldError, match="leave out the '_controller' suffix"):
        scaffold.validate_name("controller", "users_controller", suffix="_controller")


def test_templates_are_found_in_the_checkout():
    root = scaffold.templates_dir()
    for kind in ("app", "controller", "ws_handler", "fallback", "handler", "resource"):
        assert (root / kind / "cookiecutter.json").is_file()


def test_render_leaves_no_cookiecutter_state_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    files = scaffold.render("fallback", {"app": "shop", "name": "oops"})
    assert set(files) == {
        P("shop/controllers/oops_fallback.py"),
        P("tests/test_oops_fallback.py"),
    }
    assert list(tmp_path.iterdir()) == []  # no ~/.cookiecutter_replay, no config


def test_plan_sorts_files_into_create_identical_conflict(tmp_path):
    (tmp_path / "same.txt").write_text("same")
    (tmp_path / "edited.txt").write_text("mine")
    (tmp_path / "kept.txt").write_text("mine")
    files = {
        P("new.txt"): Rendered(b"new", 0o644),
        P("same.txt"): Rendered(b"same", 0o644),
        P("edited.txt"): Rendered(b"theirs", 0o644),
        P("kept.txt"): Rendered(b"theirs", 0o644),
    }
    plan = plan_files(tmp_path, files, keep_existing=[P("kept.txt")])
    assert [(s.action, str(s.path)) for s in plan.steps] == [
        ("create", "new.txt"),
        ("identical", "same.txt"),
        ("conflict", "edited.txt"),
        ("exist", "kept.txt"),
    ]
    forced = plan_files(tmp_path, files, force=True, keep_existing=[P("kept.txt")])
    assert forced.steps[2].action == "force"


def test_a_conflict_writes_nothing(tmp_path):
    (tmp_path / "edited.txt").write_text("mine")
    plan = plan_files(
        tmp_path, {P("a/new.txt"): Rendered(b"x", 0o644), P("edited.txt"): Rendered(b"y", 0o644)}
    )
    with pytest.raises(ScaffoldError, match=r"1 file conflicts \(edited.txt\); nothing written"):
        apply(plan)
    assert snapshot(tmp_path) == {"edited.txt": b"mine"}


def test_apply_writes_files_and_their_folders(tmp_path):
    plan = Plan(tmp_path / "new", [Step("create", P("a/b/c.txt"), b"hello", 0o640)])
    old = os.umask(0o022)
    try:
        written = apply(plan)
    finally:
        os.umask(old)
    assert written == [tmp_path / "new/a/b/c.txt"]
    target = tmp_path / "new/a/b/c.txt"
    assert target.read_bytes() == b"hello"
    assert target.stat().st_mode & 0o777 == 0o640


def test_a_forced_file_keeps_its_permissions(tmp_path):
    script = tmp_path / "run.sh"
    script.write_text("old")
    script.chmod(0o755)
    apply(Plan(tmp_path, [Step("force", P("run.sh"), b"new")]))
    assert script.read_text() == "new" and script.stat().st_mode & 0o777 == 0o755
    assert [p.name for p in tmp_path.iterdir()] == ["run.sh"]  # the backup is gone


def _failing_after(monkeypatch, calls: int, exc: BaseException) -> None:
    """Make the `calls`+1-th atomic write fail."""
    real = scaffold.write_atomic
    count = {"n": 0}

    def write(target, content, mode=None):
        count["n"] += 1
        if count["n"] > calls:
            raise exc
        real(target, content, mode)

    monkeypatch.setattr(scaffold, "write_atomic", write)


@pytest.mark.parametrize(
    "exc", [KeyboardInterrupt(), OSError(28, "No space left on device")], ids=["interrupt", "disk"]
)
@pytest.mark.parametrize("fail_at", [0, 1, 2], ids=["first", "the-overwrite", "last"])
def test_a_failure_half_way_undoes_every_write(tmp_path, monkeypatch, exc, fail_at):
    (tmp_path / "router.py").write_text("original")
    before = snapshot(tmp_path)
    plan = Plan(
        tmp_path,
        [
            Step("create", P("pkg/one.py"), b"1", 0o644),
            Step("force", P("router.py"), b"edited"),
            Step("create", P("tests/test_one.py"), b"2", 0o644),
        ],
    )
    _failing_after(monkeypatch, fail_at, exc)
    with pytest.raises(type(exc) if isinstance(exc, KeyboardInterrupt) else ScaffoldError):
        apply(plan)
    assert snapshot(tmp_path) == before
    # no empty pkg/ or tests/, no temporary or backup file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["router.py"]


def test_a_failed_rename_leaves_no_temporary_file(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", refuse)
    plan = Plan(tmp_path, [Step("create", P("a.txt"), b"x", 0o644)])
    with pytest.raises(ScaffoldError, match="cannot write .*a.txt: Input/output error"):
        apply(plan)
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_directory_is_one_clear_error_and_nothing_half_written(app_root):
    before = snapshot(app_root)
    plan = plan_generator("controller", "users", Project(app_root, "myapp"))
    # the controller is written first, then the test into the read-only folder fails
    with read_only(app_root / "tests"), pytest.raises(ScaffoldError) as info:
        apply(plan)
    message = str(info.value)
    assert "cannot write" in message and "test_users_controller.py" in message
    assert message.endswith("nothing was written")
    assert snapshot(app_root) == before


def test_nova_new_plan_is_every_file_of_the_layout(tmp_path):
    plan = plan_app("shop", tmp_path / "shop")
    assert {str(s.path) for s in plan.steps} == {
        ".gitignore",
        "README.md",
        "pyproject.toml",
        "shop/__init__.py",
        "shop/router.py",
        "shop/controllers/__init__.py",
        "shop/controllers/main_controller.py",
        "shop/views/main.html",
        "shop/static/app.css",
        "shop/static/favicon.ico",
        "tests/test_main.py",
    }
    assert {s.action for s in plan.steps} == {"create"}
    assert not (tmp_path / "shop").exists()


def test_nova_new_refuses_a_non_empty_target(tmp_path):
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "notes.txt").write_text("mine")
    with pytest.raises(ScaffoldError, match="already exists and is not empty"):
        plan_app("shop", tmp_path / "shop")
    plan_app("shop", tmp_path / "empty")  # missing is fine
    (tmp_path / "empty2").mkdir()
    plan_app("shop", tmp_path / "empty2")  # and so is empty


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"colour": "red"}, "unknown --set key 'colour'"),
        ({"app": "other"}, "NAME argument"),
        ({"port": "http"}, "expected a port number"),
        ({"port": "70000"}, "expected a port number"),
        ({"description": 'say "hi"'}, "quotes"),
    ],
)
def test_bad_settings_are_refused(tmp_path, settings, message):
    with pytest.raises(ScaffoldError, match=message):
        plan_app("shop", tmp_path / "shop", settings)


def test_the_python_running_nova_has_the_stdlib_names():
    assert "json" in sys.stdlib_module_names  # what validate_app_name relies on


def test_new_files_follow_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        apply(Plan(tmp_path, [Step("create", P("secret.txt"), b"x", 0o644)]))
    finally:
        os.umask(old)
    assert (tmp_path / "secret.txt").stat().st_mode & 0o777 == 0o600
