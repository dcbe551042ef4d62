"""`nova new --docker --ci`: the commands the Dockerfile and the workflow hold, run here.

No Docker engine runs here, so the Dockerfile is played (tests/support/dockerfile.py)
in a fresh virtualenv with nova-web installed from this checkout: its build
context as .dockerignore leaves it, its RUN commands, then its CMD with its ENV,
and its HEALTHCHECK against that server. The workflow's `run:` steps are run the
same way, in the generated app.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.support import dockerfile, venvs
from tests.support.servers import free_port, spawn

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with nova-web (editable, from this checkout) and nothing else."""
    root = venvs.create(tmp_path_factory.mktemp("venv") / "venv")
    venvs.pip_install(root, "--quiet", "-e", str(REPO))
    return root


@pytest.fixture(scope="module")
def port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def app(venv: Path, port: int, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`nova new shop --docker --ci` on a free port, with the venv's `nova`."""
    home = tmp_path_factory.mktemp("project")
    nova = str(venv / "bin" / "nova")
    venvs.run(venv, [nova, "new", "shop", "--docker", "--ci", "--set", f"port={port}"], home)
    return home / "shop"


def healthy(venv: Path, image: dockerfile.Image, port: int) -> bool:
    """Run the image's HEALTHCHECK command as Docker would: in the container's env."""
    done = subprocess.run(
        image.healthcheck,
        cwd=image.cwd,
        env=venvs.env(venv, {**image.env, "NOVA_PORT": str(port)}),
        capture_output=True,
        timeout=30,
    )
    return done.returncode == 0


def test_the_dockerfile_installs_serves_and_checks_the_app(
    venv: Path, app: Path, port: int, tmp_path: Path
) -> None:
    context = tmp_path / "context"
    shutil.copytree(app, context)
    (context / ".venv" / "bin").mkdir(parents=True)  # what a developer's checkout holds
    (context / ".venv" / "bin" / "python").write_text("not for the image")
    # The app module may have run its tests already (in any order): a cache may be there.
    (context / "shop" / "__pycache__").mkdir(exist_ok=True)
    (context / "shop" / "__pycache__" / "router.cpython-312.pyc").write_bytes(b"stale")

    def run(command: str, cwd: Path, env: dict[str, str]) -> None:
        venvs.run(venv, ["sh", "-c", command], cwd, extra=env, timeout=600)

    image = dockerfile.build(context / "Dockerfile", context, tmp_path / "image", run)
    assert not (image.cwd / ".venv").exists()
    assert not (image.cwd / "shop" / "__pycache__").exists()
    site = venvs.run(
        venv, [venvs.python(venv), "-c", "import shop; print(shop.__file__)"], tmp_path
    )
    assert site.startswith(str(venv)), site  # `pip install .` installed the app

    assert image.env["NOVA_HOST"] == "0.0.0.0"  # here, servers listen on loopback only
    assert image.env["NOVA_PORT"] == str(port)
    # A port taken just now (the app's was chosen long before, while the venv was made);
    # NOVA_PORT moves the server and its health check together, as `docker run -e` would.
    port = free_port()
    env = venvs.env(venv, {**image.env, "NOVA_HOST": "127.0.0.1", "NOVA_PORT": str(port)})
    assert not healthy(venv, image, port)  # nothing serves yet
    with spawn(image.cmd, port=port, cwd=image.cwd, env=env, inherit_env=False, timeout=60):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert response.status == 200 and "Hello world!" in response.read().decode()
        assert healthy(venv, image, port)
    assert not healthy(venv, image, port)  # stopped


def test_the_workflow_installs_the_app_and_its_tests_pass(venv: Path, app: Path) -> None:
    workflow = yaml.safe_load((app / ".github" / "workflows" / "test.yml").read_text())
    (job,) = workflow["jobs"].values()
    outputs = [
        venvs.run(venv, ["bash", "-e", "-c", step["run"]], app, timeout=600)
        for step in job["steps"]
        if "run" in step
    ]
    assert re.search(r"\b3 passed\b", outputs[-1]), outputs[-1]
    where = venvs.run(
        venv, [venvs.python(venv), "-c", "import nova_cli; print(nova_cli.__file__)"], app
    )
    assert where.strip() == str(REPO / "nova_cli" / "__init__.py")  # not from the index
