"""README.md's tour: its router is the one its commands generate."""

from __future__ import annotations

import re
from pathlib import Path

from nova_cli.scaffold import Project, apply, plan_app, plan_generator

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_router_shown_is_the_one_the_tour_generates(tmp_path: Path) -> None:
    text = README.read_text()
    tour = re.search(r"## A short tour\n\n```sh\n(.*?)```", text, re.S)
    assert tour, "README.md has no tour"
    root = tmp_path / "myapp"
    apply(plan_app("myapp", root))
    for line in tour[1].splitlines():
        command = line.split("#")[0].split()
        if command[:2] == ["nova", "gen"]:
            kind, name, *rest = command[2:]
            channel = rest[1] if rest[:1] == ["--pubsub"] else None
            apply(plan_generator(kind, name, Project(root, "myapp"), channel=channel))
    shown = re.search(r"`myapp/router.py`\)[^`]*```python\n(.*?)```", text, re.S)
    assert shown, "README.md shows no router"
    assert shown[1] == (root / "myapp" / "router.py").read_text()
