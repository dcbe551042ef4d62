"""Problems: file, line and message of what stopped a reload, from the project's frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from nova_cli.devserver.problems import Problem, problem_from_exception, terminal_report


def run_file(path: Path) -> BaseException:
    try:
        exec(compile(path.read_text(), str(path), "exec"), {})
    except BaseException as exc:
        return exc
    raise AssertionError("no exception")


def test_a_syntax_error_points_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "app" / "bad.py"
    path.parent.mkdir()
    path.write_text("x = 1\n\ndef f(:\n    pass\n")
    problem = problem_from_exception(run_file(path), tmp_path)
    assert (problem.kind, problem.file, problem.line) == ("SyntaxError", "app/bad.py", 3)
    assert problem.message == "invalid syntax"
    assert problem.source == [(1, "x = 1"), (2, ""), (3, "def f(:"), (4, "    pass")]
    assert problem.headline() == "app/bad.py:3: SyntaxError: invalid syntax"


def test_a_runtime_error_points_at_the_innermost_project_frame(tmp_path: Path) -> None:
    path = tmp_path / "boom.py"
    path.write_text("def inner():\n    raise KeyError('db')\n\ninner()\n")
    problem = problem_from_exception(run_file(path), tmp_path)
    assert (problem.kind, problem.file, problem.line) == ("KeyError", "boom.py", 2)
    assert problem.traceback.startswith("Traceback (project frames):\n")
    assert "KeyError: 'db'" in problem.traceback
    assert __file__ not in problem.traceback  # the test's own frame is not the project's


def test_without_a_project_frame_the_fallback_is_used(tmp_path: Path) -> None:
    router = tmp_path / "router.py"
    router.write_text("def routes(environment):\n    return []\n")
    problem = problem_from_exception(ValueError("bad entry"), tmp_path, fallback=(router, 1))
    assert problem.headline() == "router.py:1: ValueError: bad entry"
    assert problem.traceback == ""  # no frame to show: the headline says it all


def test_a_config_error_is_said_once(tmp_path: Path) -> None:
    from nova_cli.core.config import ConfigError

    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.nova]\nprot = 8080\n")
    error = ConfigError(f"{pyproject}: unknown key [tool.nova].prot (known: port)")
    problem = problem_from_exception(error, tmp_path, fallback=(pyproject, None))
    report = terminal_report(problem, what="the app did not load")
    assert report == f"nova: the app did not load: ConfigError: {error}"
    assert report.count("unknown key") == 1 and report.count(str(pyproject)) == 1


def test_problems_travel_as_dicts_and_print_as_a_block() -> None:
    problem = Problem("E", "m", "a.py", 2, "Traceback\n  line\nE: m\n", [(2, "x")])
    assert Problem.from_dict(problem.to_dict()) == problem
    assert terminal_report(problem) == (
        "nova: reload failed: a.py:2: E: m\n    Traceback\n      line\n    E: m"
    )
    assert terminal_report(Problem("E", "m")) == "nova: reload failed: E: m"


def test_the_import_machinerys_frames_are_not_the_projects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib
    import sys

    from nova_cli.devserver.watcher import WatchScope

    monkeypatch.chdir(tmp_path)  # as `nova serve`'s worker: `<frozen ...>` is a relative name
    (tmp_path / "shopx").mkdir()
    (tmp_path / "shopx" / "__init__.py").write_text("import no_such_module_here\n")
    sys.path.insert(0, str(tmp_path))
    try:
        importlib.import_module("shopx")
    except ImportError as exc:
        error = exc
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("shopx", None)
    problem = problem_from_exception(
        error, tmp_path, is_project_file=WatchScope(tmp_path).is_project_file
    )
    assert (problem.file, problem.line) == ("shopx/__init__.py", 1)
    assert "<frozen" not in problem.traceback
    assert 'shopx/__init__.py", line 1' in problem.traceback
