"""Build apps from the `# file:` code blocks of a docs page."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"```python\n# file: (?P<path>\S+)\n(?P<code>.*?)```", re.S)


def app_from_docs(page: str, target: Path, pyproject: str = "") -> Path:
    """Write every `# file:` block of docs/<page> under target; return the project root.

    Blocks under `tests/` are the app's tests (a folder, not a package, as
    `nova new` makes it); every other block belongs to the one app package.
    `pyproject` is appended to pyproject.toml, right after `[tool.nova] app`.
    """
    blocks = BLOCK.findall((DOCS / page).read_text())
    assert blocks, f"docs/{page} has no '# file:' blocks"
    packages: set[str] = set()
    for rel, code in blocks:
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
        top = rel.split("/")[0]
        if top == "tests":
            continue
        packages.add(top)
        for parent in path.relative_to(target).parents:
            if str(parent) != ".":
                (target / parent / "__init__.py").touch()
    (app,) = packages
    (target / "pyproject.toml").write_text(f'[tool.nova]\napp = "{app}"\n{pyproject}')
    return target
