"""`[tool.nova]` settings, overridden by `NOVA_*` environment variables and CLI flags.

Precedence, lowest first: built-in defaults, the app's `pyproject.toml`
`[tool.nova]` table, `NOVA_*` environment variables, explicit overrides
(the CLI's flags).  Unknown keys are an error, so a typo never passes
silently.  This module imports nothing heavy: the CLI uses it for `--help`.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A bad `[tool.nova]` value or `NOVA_*` variable; the message names it."""


@dataclass(frozen=True)
class NovaConfig:
    """Everything the runtime and the servers read from configuration."""

    app: str | None = None  # the app package (default: the one package with a router.py)
    root: Path = field(default_factory=Path.cwd)  # the project directory, put on sys.path
    host: str = "127.0.0.1"
    port: int = 8080
    environment: str = "dev"
    plugins: list[Any] = field(default_factory=list)
    pubsub: str | None = None  # None: in memory; "redis://host:port/db" across workers
    max_body_size: int = 1024 * 1024  # bytes; larger request bodies get 413
    max_header_count: int = 100  # more request headers get 431 (Cowboy's max_headers)
    max_header_bytes: int = 64 * 1024  # a larger request head (line + headers) gets 431
    header_timeout: float = 10.0  # seconds to receive a request head; then 408 and close
    ws_max_message_size: int = 1024 * 1024  # bytes; larger messages close with 1009
    ws_idle_timeout: float = 0.0  # seconds without a frame from the client; 0: off
    ws_queue_messages: int = 1000  # outbound queue bound per connection
    ws_queue_bytes: int = 1024 * 1024

    @property
    def dev(self) -> bool:
        return self.environment == "dev"


_TYPES: dict[str, type] = {
    "app": str,
    "host": str,
    "port": int,
    "environment": str,
    "plugins": list,
    "pubsub": str,
    "max_body_size": int,
    "max_header_count": int,
    "max_header_bytes": int,
    "header_timeout": float,
    "ws_max_message_size": int,
    "ws_idle_timeout": float,
    "ws_queue_messages": int,
    "ws_queue_bytes": int,
}
# Limits that mean nothing at zero or below (or at infinity): the value must be positive.
_POSITIVE = {"max_header_count", "max_header_bytes", "header_timeout"}
# NOVA_PUBSUB_URL is the documented name; NOVA_ENV is a common shorthand.
_ENV_NAMES = {
    "pubsub": ("NOVA_PUBSUB_URL", "NOVA_PUBSUB"),
    "environment": ("NOVA_ENVIRONMENT", "NOVA_ENV"),
}


def load_config(
    root: Path | None = None, *, default_environment: str = "dev", **overrides: Any
) -> NovaConfig:
    """Read the settings of the project at `root` (default: found from the cwd).

    `default_environment` applies when neither `[tool.nova]`, `NOVA_ENVIRONMENT`
    nor an override names one (`nova run` passes "prod").
    """
    from nova_cli.discover import find_project_root

    if root is None:
        env_root = os.environ.get("NOVA_ROOT")
        root = Path(env_root) if env_root else find_project_root(Path.cwd())
    root = root.resolve()
    values: dict[str, Any] = {"environment": default_environment}
    values.update(_from_pyproject(root / "pyproject.toml"))
    values.update(_from_environ(os.environ))
    for key in overrides:
        if key not in _TYPES:
            raise ConfigError(f"unknown setting {key!r} (known: {', '.join(sorted(_TYPES))})")
    values.update({k: v for k, v in overrides.items() if v is not None})
    checked = {key: _coerce(key, value, "setting") for key, value in values.items()}
    return replace(NovaConfig(root=root), **checked)


def _from_pyproject(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    table = data.get("tool", {}).get("nova", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.nova] must be a table")
    for key in table:
        if key not in _TYPES:
            raise ConfigError(
                f"{path}: unknown key [tool.nova].{key} (known: {', '.join(sorted(_TYPES))})"
            )
    return {k: _coerce(k, v, f"[tool.nova].{k} in {path}") for k, v in table.items()}


def _from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in _TYPES:
        if key == "plugins":
            continue  # a list of tuples does not fit an environment variable
        for name in _ENV_NAMES.get(key, (f"NOVA_{key.upper()}",)):
            if name in environ:
                values[key] = _coerce(key, environ[name], name)
                break
    return values


def _coerce(key: str, value: Any, where: str) -> Any:
    checked = _coerce_type(key, value, where)
    if key in _POSITIVE and not 0 < checked < math.inf:
        raise ConfigError(f"{where}: expected a positive number, got {value!r}")
    return checked


def _coerce_type(key: str, value: Any, where: str) -> Any:
    kind = _TYPES[key]
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    if isinstance(value, str) and kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    raise ConfigError(f"{where}: expected {kind.__name__}, got {value!r}")


def known_keys() -> list[str]:
    return [f.name for f in fields(NovaConfig) if f.name != "root"]
