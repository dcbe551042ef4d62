"""Fresh virtualenvs for the end-to-end tests that install things as a user does.

Commands run with the environment of a shell where the venv is activated and
nothing of the test runner's leaks in: no PYTHONPATH (which would import this
checkout instead of what the venv installed), no NOVA_* settings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def create(root: Path) -> Path:
    """A new, empty virtualenv at `root`."""
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=120)
    return root


def env(venv: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a shell with `venv` activated, plus `extra`."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NOVA_", "PYTEST_", "PYTHON")) and k != "VIRTUAL_ENV"
    }
    clean.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{clean.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        NO_COLOR="1",
    )
    return {**clean, **(extra or {})}


def run(
    venv: Path,
    args: Sequence[str],
    cwd: Path,
    *,
    extra: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> str:
    """Run `args` in `venv`'s environment; fail the test, with the output, unless it exits 0."""
    done = subprocess.run(
        list(args), cwd=cwd, env=env(venv, extra), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{list(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def python(venv: Path) -> str:
    return str(venv / "bin" / "python")


def pip_install(venv: Path, *args: str, cwd: Path | None = None) -> str:
    """`pip install ARGS` in `venv`."""
    return run(venv, [python(venv), "-m", "pip", "install", *args], cwd or venv, timeout=900)
