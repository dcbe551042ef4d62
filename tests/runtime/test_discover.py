"""Finding the project and importing its app package."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nova_cli.core.discover import (
    AppNotFound,
    find_project_root,
    guess_app_name,
    import_app,
    import_router,
)
from tests.runtime.conftest import Apps, purge, write_files


def test_find_project_root_from_below(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": "[tool.nova]\n", "app/views/x.html": ""})
    assert find_project_root(tmp_path / "app" / "views") == tmp_path.resolve()


def test_a_pyproject_without_tool_nova_is_skipped(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {"pyproject.toml": "[tool.nova]\n", "inner/pyproject.toml": "[project]\nname='x'\n"},
    )
    assert find_project_root(tmp_path / "inner") == tmp_path.resolve()


def test_a_package_with_a_router_marks_a_project_without_tool_nova(tmp_path: Path) -> None:
    write_files(tmp_path, {"shop/__init__.py": "", "shop/router.py": "", "docs/a.md": ""})
    assert find_project_root(tmp_path / "docs") == tmp_path.resolve()


def test_no_project(tmp_path: Path) -> None:
    with pytest.raises(AppNotFound, match="no Nova app in .* expected a pyproject.toml"):
        find_project_root(tmp_path)


def test_guess_app_name(tmp_path: Path) -> None:
    write_files(tmp_path, {"shop/__init__.py": "", "shop/router.py": "", "lib/__init__.py": ""})
    assert guess_app_name(tmp_path) == "shop"
    write_files(tmp_path, {"blog/__init__.py": "", "blog/router.py": ""})
    with pytest.raises(AppNotFound, match=r"several app packages in .* \(blog, shop\)"):
        guess_app_name(tmp_path)
    with pytest.raises(AppNotFound, match="no package with a router.py"):
        guess_app_name(tmp_path / "lib")


def test_import_app_and_router(apps: Apps) -> None:
    root = apps.write({"router.py": "def routes(environment):\n    return []\n"}, package="found")
    purge("found")
    app = import_app("found", root)
    assert app.__name__ == "found" and sys.path[0] == str(root)
    assert import_router(app).routes("dev") == []


def test_import_app_errors(apps: Apps, tmp_path: Path) -> None:
    with pytest.raises(AppNotFound, match="app package 'not_here_pkg' not found in"):
        import_app("not_here_pkg", tmp_path)
    root = apps.write({"helpers.py": "import no_such_dependency_xyz\n"}, package="brokenimp")
    (root / "brokenimp" / "__init__.py").write_text("from brokenimp import helpers\n")
    purge("brokenimp")
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_xyz"):
        import_app("brokenimp", root)  # a missing dependency is not "app not found"


def test_import_router_errors(apps: Apps) -> None:
    root = apps.write({}, package="norouter")
    purge("norouter")
    with pytest.raises(AppNotFound, match="app 'norouter' has no router.py"):
        import_router(import_app("norouter", root))
    root = apps.write({"router.py": "ROUTES = []\n"}, package="noroutes")
    purge("noroutes")
    with pytest.raises(AppNotFound, match=r"noroutes.router defines no routes\(environment\)"):
        import_router(import_app("noroutes", root))


def test_create_app_guesses_the_package_without_tool_nova_app(apps: Apps) -> None:
    root = apps.write(
        {
            "router.py": """
                def routes(environment):
                    return [{"routes": [("/", lambda r: ("status", 204))]}]
            """
        },
        package="guessed",
    )
    (root / "pyproject.toml").write_text("[tool.nova]\nport = 8080\n")
    assert apps.client(root, "guessed").get("/").status_code == 204
