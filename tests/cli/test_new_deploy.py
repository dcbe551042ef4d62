"""`nova new --docker / --redis / --ci`: the deployment files, what they say, and the plan.

tests/e2e/test_deploy_files.py runs the commands these files hold.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path, PurePosixPath

import yaml

from tests.cli.conftest import snapshot
from tests.support import dockerfile

APP_FILES = {
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
WORKFLOW = ".github/workflows/test.yml"


def pyproject(root: Path) -> dict:
    return tomllib.loads((root / "pyproject.toml").read_text())


def lower_bound(requires_python: str) -> tuple[int, int]:
    found = re.fullmatch(r">=(\d+)\.(\d+)", requires_python)
    assert found, requires_python
    return int(found[1]), int(found[2])


def minor(version: str) -> tuple[int, int]:
    major, _, rest = version.partition(".")
    return int(major), int(rest)


def test_help_lists_the_deployment_flags(nova, tmp_path):
    out = nova("new", "--help", cwd=tmp_path).output
    for flag in ("--docker", "--redis", "--ci"):
        assert re.search(rf"^\s+{flag}\s+\S", out, re.M), out


def test_docker_writes_the_image_files_and_nothing_else(nova, tmp_path):
    result = nova("new", "shop", "--docker", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert set(snapshot(tmp_path / "shop")) == APP_FILES | {"Dockerfile", ".dockerignore"}
    assert "    create  Dockerfile\n" in result.output
    assert "    create  .dockerignore\n" in result.output
    assert "docker build -t shop . && docker run -p 8080:8080 shop" in result.output
    assert pyproject(tmp_path / "shop")["project"]["dependencies"] == ["nova-web"]


def test_the_dockerfile_builds_a_non_root_nova_run_image(nova, tmp_path):
    nova("new", "shop", "--docker", "--set", "port=9000", cwd=tmp_path)
    app = tmp_path / "shop"
    ran: list[str] = []
    image = dockerfile.build(
        app / "Dockerfile", app, tmp_path / "image", lambda cmd, cwd, env: ran.append(cmd)
    )
    assert re.fullmatch(r"python:3\.\d+-slim", image.base)
    image_python = minor(image.base.split(":")[1].removesuffix("-slim"))
    assert image_python >= lower_bound(pyproject(app)["project"]["requires-python"])
    # Installed as root (the image's site-packages are root's), served as another user.
    assert ("root", "pip install --no-cache-dir .") in image.runs
    assert ran == ["pip install --no-cache-dir ."]
    assert image.user not in ("root", "0") and image.user in image.users
    assert image.env["NOVA_HOST"] == "0.0.0.0"  # the default, 127.0.0.1, is unreachable
    assert image.env["NOVA_PORT"] == "9000" and image.exposed == ["9000"]
    assert image.healthcheck[:2] == ["python", "-c"]
    assert "urllib.request" in image.healthcheck[2] and "/heartbeat" in image.healthcheck[2]
    assert image.cmd == ["nova", "run"]
    assert (image.cwd / "pyproject.toml").is_file() and (image.cwd / "shop/router.py").is_file()


def test_the_dockerignore_keeps_what_pip_install_needs(nova, tmp_path):
    nova("new", "shop", "--docker", cwd=tmp_path)
    rules = dockerfile.ignore_rules(tmp_path / "shop")
    kept = ["pyproject.toml", "README.md", "shop/router.py", "shop/views/main.html"]
    left_out = [
        ".venv/bin/python",
        ".git/HEAD",
        "shop/__pycache__/router.cpython-312.pyc",
        "shop/controllers/main_controller.pyc",
        "tests/test_main.py",
        ".env",
        "build/lib/shop/router.py",
    ]
    assert [p for p in kept if dockerfile.ignored(rules, PurePosixPath(p))] == []
    assert [p for p in left_out if not dockerfile.ignored(rules, PurePosixPath(p))] == []


def test_docker_with_redis_adds_a_compose_file_with_redis(nova, tmp_path):
    result = nova("new", "shop", "--docker", "--redis", "--set", "port=9000", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    root = tmp_path / "shop"
    assert set(snapshot(root)) == APP_FILES | {"Dockerfile", ".dockerignore", "compose.yaml"}
    assert pyproject(root)["project"]["dependencies"] == ["nova-web[redis]"]
    services = yaml.safe_load((root / "compose.yaml").read_text())["services"]
    assert set(services) == {"shop", "redis"}
    app, redis = services["shop"], services["redis"]
    assert app["build"] == "."
    assert app["ports"] == ["9000:9000"]
    assert app["environment"] == {"NOVA_PUBSUB_URL": "redis://redis:6379/0"}
    assert app["command"] == ["nova", "run", "--workers", "2"]
    # nova run refuses to start while Redis does not answer: wait for its health check
    assert app["depends_on"] == {"redis": {"condition": "service_healthy"}}
    assert re.fullmatch(r"redis:\d+(-alpine)?", redis["image"])
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert "docker compose up --build" in result.output


def test_redis_without_docker_only_brings_the_redis_client(nova, tmp_path):
    result = nova("new", "shop", "--redis", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    root = tmp_path / "shop"
    assert set(snapshot(root)) == APP_FILES
    config = pyproject(root)
    assert config["project"]["dependencies"] == ["nova-web[redis]"]
    assert "pubsub" not in config["tool"]["nova"]  # the generated tests need no Redis
    assert "NOVA_PUBSUB_URL=redis://127.0.0.1:6379/0 nova run --workers 2" in result.output


def test_ci_writes_a_workflow_that_installs_and_tests_the_app(nova, tmp_path):
    result = nova("new", "shop", "--ci", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    root = tmp_path / "shop"
    assert set(snapshot(root)) == APP_FILES | {WORKFLOW}
    workflow = yaml.safe_load((root / WORKFLOW).read_text())
    triggers = workflow[True]  # YAML 1.1 reads the bare key `on` as true
    assert set(triggers) == {"push", "pull_request"}
    (job,) = workflow["jobs"].values()
    versions = job["strategy"]["matrix"]["python-version"]
    first = lower_bound(pyproject(root)["project"]["requires-python"])
    assert [minor(v) for v in versions] == [(3, n) for n in range(first[1], first[1] + 3)]
    uses = [step["uses"] for step in job["steps"] if "uses" in step]
    assert uses == ["actions/checkout@v4", "actions/setup-python@v5"]
    setup = job["steps"][1]
    assert setup["with"]["python-version"] == "${{ matrix.python-version }}"
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs == ['python -m pip install ".[test]"', "python -m pytest"]


def test_every_flag_goes_through_the_plan(nova, tmp_path):
    result = nova("new", "shop", "--docker", "--redis", "--ci", "--dry-run", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    for path in ("Dockerfile", ".dockerignore", "compose.yaml", WORKFLOW):
        assert f"    create  {path}\n" in result.output
    assert "dry run: nothing written" in result.output
    assert list(tmp_path.iterdir()) == []


def test_the_readme_tells_how_to_run_what_was_generated(nova, tmp_path):
    nova("new", "plain", cwd=tmp_path)
    nova("new", "shop", "--docker", "--redis", "--ci", cwd=tmp_path)
    plain = (tmp_path / "plain" / "README.md").read_text()
    assert "docker" not in plain and "NOVA_PUBSUB_URL" not in plain and "GitHub" not in plain
    readme = (tmp_path / "shop" / "README.md").read_text()
    assert "docker build -t shop ." in readme and "docker compose up --build" in readme
    assert "NOVA_PUBSUB_URL=redis://127.0.0.1:6379/0 nova run --workers 2" in readme
    assert WORKFLOW in readme
