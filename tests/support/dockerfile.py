"""Play a Dockerfile without Docker: read it as Docker does, and do its steps here.

No Docker engine runs on the test machines, so the image's filesystem root is
a directory, its Python is a virtualenv, and its RUN commands run through a
callback given by the test. What Docker alone can do (create a user) is
recorded, not done, so that the test can check it.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper-case: FROM, RUN, ...
    args: str  # the rest of the instruction, continuation lines joined


def instructions(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile: comments dropped, `\\` continuations joined."""
    found: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):  # also inside a continuation
            continue
        part = line.strip() if pending else line.rstrip()
        if part.endswith("\\"):
            pending += part[:-1]
            continue
        keyword, _, args = (pending + part).strip().partition(" ")
        found.append(Instruction(keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends in a continuation line"
    return found


def exec_form(args: str) -> list[str]:
    """`["nova", "run"]` → its argv; the shell form is refused (it needs /bin/sh as PID 1)."""
    argv = json.loads(args)
    assert isinstance(argv, list) and all(isinstance(a, str) for a in argv), args
    return argv


@dataclass
class Image:
    """What building a Dockerfile left: the settings a container starts with."""

    root: Path  # the image's filesystem root
    base: str = ""
    workdir: PurePosixPath = PurePosixPath("/")
    env: dict[str, str] = field(default_factory=dict)
    user: str = "root"
    users: dict[str, str] = field(default_factory=dict)  # uid → name, made by useradd
    runs: list[tuple[str, str]] = field(default_factory=list)  # (user, command)
    exposed: list[str] = field(default_factory=list)
    healthcheck_options: dict[str, str] = field(default_factory=dict)
    healthcheck: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)

    @property
    def cwd(self) -> Path:
        return self.root / self.workdir.relative_to("/")


Runner = Callable[[str, Path, dict[str, str]], None]  # (command, cwd, env)


def build(dockerfile: Path, context: Path, root: Path, run: Runner) -> Image:
    """Do the Dockerfile's steps with `context` as the build context, into `root`."""
    image = Image(root)
    for step in instructions(dockerfile.read_text()):
        if step.keyword == "FROM":
            image.base = step.args
        elif step.keyword == "WORKDIR":
            image.workdir = image.workdir / step.args
            image.cwd.mkdir(parents=True, exist_ok=True)
        elif step.keyword == "COPY":
            source, target = shlex.split(step.args)
            assert source == ".", f"only COPY . is played here, not {step.args!r}"
            copy_context(context, image.cwd / target)
        elif step.keyword == "ENV":
            image.env.update(_pairs(step.args))
        elif step.keyword == "RUN":
            image.runs.append((image.user, step.args))
            if step.args.startswith("useradd "):
                image.users.update(_useradd(step.args))
            else:
                run(step.args, image.cwd, dict(image.env))
        elif step.keyword == "USER":
            image.user = step.args
        elif step.keyword == "EXPOSE":
            image.exposed += step.args.split()
        elif step.keyword == "HEALTHCHECK":
            options, _, command = step.args.partition("CMD ")
            image.healthcheck_options = dict(_pairs(options))
            image.healthcheck = exec_form(command)
        elif step.keyword == "CMD":
            image.cmd = exec_form(step.args)
        else:
            raise AssertionError(f"this player does not know {step.keyword}")
    return image


def _pairs(args: str) -> Iterator[tuple[str, str]]:
    """`KEY=VALUE ...` (ENV) or `--key=value ...` (HEALTHCHECK options)."""
    for item in shlex.split(args):
        key, sep, value = item.partition("=")
        assert sep, f"expected KEY=VALUE, got {item!r}"
        yield key, value


def _useradd(command: str) -> dict[str, str]:
    words = shlex.split(command)
    uid = words[words.index("--uid") + 1] if "--uid" in words else ""
    return {uid: words[-1]}


# -- .dockerignore ------------------------------------------------------------------


def ignore_rules(context: Path) -> list[re.Pattern[str]]:
    """The context's .dockerignore patterns, as regular expressions over relative paths."""
    ignore = context / ".dockerignore"
    lines = ignore.read_text().splitlines() if ignore.is_file() else []
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "exceptions (!) are not played here"
    return [_regex(p.strip("/")) for p in patterns]


def _regex(pattern: str) -> re.Pattern[str]:
    """Docker's matching: Go's filepath.Match (`*`, `?`, `[...]` stop at `/`) plus `**`."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def ignored(rules: list[re.Pattern[str]], path: PurePosixPath) -> bool:
    """Whether `path` (relative to the context) is left out: it or a parent matches."""
    prefixes = [PurePosixPath(*path.parts[: n + 1]) for n in range(len(path.parts))]
    return any(rule.match(str(prefix)) for rule in rules for prefix in prefixes)


def copy_context(context: Path, target: Path) -> None:
    """COPY . TARGET: every file of the build context that .dockerignore lets through."""
    rules = ignore_rules(context)
    for path in sorted(context.rglob("*")):
        relative = PurePosixPath(path.relative_to(context).as_posix())
        if path.is_file() and not ignored(rules, relative):
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / relative)
