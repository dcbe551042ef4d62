"""`[tool.nova]` settings, overridden by `NOVA_*` environment variables and CLI flags.

Precedence, lowest first: built-in defaults, the app's `pyproject.toml`
`[tool.nova]` table, `NOVA_*` environment variables, explicit overrides
(the CLI's flags).  Unknown keys are an error, so a typo never passes
silently.  This module imports nothing heavy: the CLI uses it for `--help`.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from nova_cli.core.errors import ConfigError


@dataclass(frozen=True)
class NovaConfig:
    """Everything the runtime and the servers read from configuration."""

    app: str | None = None  # the app package (default: the one package with a router.py)
    root: Path = field(default_factory=Path.cwd)  # the project directory, put on sys.path
    host: str = "127.0.0.1"
    port: int = 8080
    environment: str = "prod"  # "dev" shows tracebacks to clients: only when asked for
    plugins: list[Any] = field(default_factory=list)
    apps: list[dict[str, Any]] = field(default_factory=list)  # sub-apps: {app, prefix, security}
    pubsub: str | None = None  # None: in memory; "redis://host:port/db" across workers
    presence_interval: float = 0.05  # seconds: at most one presence diff per channel this often
    max_body_size: int = 1024 * 1024  # bytes; larger request bodies get 413
    max_header_count: int = 100  # more request headers get 431 (Cowboy's max_headers)
    max_header_bytes: int = 64 * 1024  # a larger request head (line + headers) gets 431
    header_timeout: float = 10.0  # seconds to receive a request head; then 408 and close
    ws_max_message_size: int = 1024 * 1024  # bytes; larger messages close with 1009
    ws_idle_timeout: float = 0.0  # seconds without a frame from the client; 0: off
    ws_queue_messages: int = 1000  # outbound queue bound per connection
    ws_queue_bytes: int = 1024 * 1024
    ws_send_timeout: float = 3.0  # seconds a client may leave our frames unread; then 1013
    ws_send_buffer: int = 64 * 1024  # kernel send buffer per WebSocket, bytes; 0: the OS's
    ws_allowed_origins: list[str] = field(default_factory=list)  # besides the request's own host
    shutdown_timeout: float = 10.0  # seconds, end to end: close sockets, run terminate, exit
    log_level: str = "info"  # uvicorn's and nova_cli's loggers
    log_format: str = "text"  # "json": one object a line, for log shippers (`nova run`)
    access_log: bool = False  # a line per request; `nova serve` turns it on by default
    proxy_headers: bool = True  # client and scheme from X-Forwarded-* of forwarded_allow_ips
    forwarded_allow_ips: str = "127.0.0.1,::1"  # "*" or addresses and networks, comma-separated
    session_backend: str | None = None  # "memory" or "redis"; None: Redis when pubsub is
    session_cookie: str = "session_id"
    session_secure: bool | None = None  # None: Secure unless the environment is dev
    session_idle_timeout: float = 86400.0  # seconds since the session's last use
    session_absolute_timeout: float = 1209600.0  # seconds since it was made (14 days)

    @property
    def dev(self) -> bool:
        return self.environment == "dev"

    @property
    def sessions_in(self) -> str:
        """Where sessions are kept: the setting, else Redis when pub/sub is there, else memory."""
        if self.session_backend is not None:
            return self.session_backend
        redis = self.pubsub is not None and self.pubsub.lower().startswith(("redis:", "rediss:"))
        return "redis" if redis else "memory"

    @property
    def secure_cookies(self) -> bool:
        """Whether the session cookie is `Secure`: `session_secure`, else outside dev."""
        return self.session_secure if self.session_secure is not None else not self.dev


# uvicorn's levels ("trace" is its own, below debug) and the log formats.
LOG_LEVELS = {"critical": 50, "error": 40, "warning": 30, "info": 20, "debug": 10, "trace": 5}
LOG_FORMATS = ("text", "json")

# The key under which an app's lifespan state carries its settings.  uvicorn
# hands that state to every connection's protocol: this is how the server's
# protocols learn the app's limits, in every worker, under any command line.
LIFESPAN_KEY = "nova.config"
_DEFAULTS = NovaConfig()


def from_lifespan_state(state: Mapping[str, Any]) -> NovaConfig:
    """The settings an app's lifespan put in the server's state; the defaults without one."""
    found = state.get(LIFESPAN_KEY)
    return found if isinstance(found, NovaConfig) else _DEFAULTS


_TYPES: dict[str, type] = {
    "app": str,
    "host": str,
    "port": int,
    "environment": str,
    "plugins": list,
    "apps": list,
    "pubsub": str,
    "presence_interval": float,
    "max_body_size": int,
    "max_header_count": int,
    "max_header_bytes": int,
    "header_timeout": float,
    "ws_max_message_size": int,
    "ws_idle_timeout": float,
    "ws_queue_messages": int,
    "ws_queue_bytes": int,
    "ws_send_timeout": float,
    "ws_send_buffer": int,
    "ws_allowed_origins": list,
    "shutdown_timeout": float,
    "log_level": str,
    "log_format": str,
    "access_log": bool,
    "proxy_headers": bool,
    "forwarded_allow_ips": str,
    "session_backend": str,
    "session_cookie": str,
    "session_secure": bool,
    "session_idle_timeout": float,
    "session_absolute_timeout": float,
}
# NOVA_PUBSUB_URL is the documented name; NOVA_ENV is a common shorthand.
_ENV_NAMES = {
    "pubsub": ("NOVA_PUBSUB_URL", "NOVA_PUBSUB"),
    "environment": ("NOVA_ENVIRONMENT", "NOVA_ENV"),
}


def load_config(
    root: Path | None = None,
    *,
    default_environment: str = "prod",
    default_access_log: bool = False,
    **overrides: Any,
) -> NovaConfig:
    """Read the settings of the project at `root` (default: found from the cwd).

    `default_environment` applies when neither `[tool.nova]`, `NOVA_ENVIRONMENT`
    nor an override names one: "prod", so that an app served by any ASGI
    server shows no tracebacks unless told to (`nova serve` passes "dev").
    `default_access_log` is the same for `access_log` (`nova serve` passes True).
    """
    from nova_cli.core.discover import find_project_root

    if root is None:
        env_root = os.environ.get("NOVA_ROOT")
        root = Path(env_root) if env_root else find_project_root(Path.cwd())
    root = root.resolve()
    values: dict[str, Any] = {
        "environment": default_environment,
        "access_log": default_access_log,
    }
    values.update(_from_pyproject(root / "pyproject.toml"))
    values.update(_from_environ(os.environ))
    for key in overrides:
        if key not in _TYPES:
            raise ConfigError(f"unknown setting {key!r} (known: {', '.join(sorted(_TYPES))})")
    values.update({k: v for k, v in overrides.items() if v is not None})
    checked = {key: _coerce(key, value, f"setting {key}") for key, value in values.items()}
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
    for key, name in _environ_names(environ).items():
        value: Any = environ[name]
        if _TYPES[key] is list:  # NOVA_WS_ALLOWED_ORIGINS=https://a.example,https://b.example
            value = [part.strip() for part in value.split(",") if part.strip()]
        values[key] = _coerce(key, value, name)
    return values


def _environ_names(environ: Mapping[str, str]) -> dict[str, str]:
    """The variable that sets each setting present in `environ` (the first name wins)."""
    found: dict[str, str] = {}
    for key in _TYPES:
        if key in ("plugins", "apps"):
            continue  # a list of tuples or tables does not fit an environment variable
        for name in _ENV_NAMES.get(key, (f"NOVA_{key.upper()}",)):
            if name in environ:
                found[key] = name
                break
    return found


def setting_sources(root: Path) -> dict[str, str]:
    """Where each setting of the project at `root` comes from, as `load_config` reads it.

    "default", "pyproject.toml" or the environment variable's name.  `root`
    is the resolved project directory (`NovaConfig.root`).
    """
    sources = dict.fromkeys(known_keys(), "default")
    sources.update(dict.fromkeys(_from_pyproject(root / "pyproject.toml"), "pyproject.toml"))
    sources.update(_environ_names(os.environ))
    return sources


def _coerce(key: str, value: Any, where: str) -> Any:
    value = _convert(key, value, where)
    check = _CHECKS.get(key)
    if check is not None:
        try:
            value = check(value)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return value


_ORIGIN = re.compile(r"^(\*|https?://(\*\.)?[a-z0-9.\-\[\]:]+)$")


def check_origin(entry: str) -> str:
    """Normalise one `ws_allowed_origins` entry, or raise ValueError naming it."""
    value = entry.strip().lower().rstrip("/")
    if not _ORIGIN.match(value):
        raise ValueError(
            f"{entry!r} is not an origin; expected scheme://host[:port] "
            '(e.g. "https://app.example.com" or "https://*.example.com") or "*"'
        )
    return value


def _origins(value: list[Any]) -> list[str]:
    for entry in value:
        if not isinstance(entry, str):
            raise ValueError(f"expected origin strings, got {entry!r}")
    return [check_origin(entry) for entry in value]


def _positive(value: float) -> float:
    # A limit that means nothing at zero or below, or at infinity.
    if not 0 < value < math.inf:
        raise ValueError(f"expected a positive number, got {value!r}")
    return value


def _non_negative(value: float) -> float:
    # Zero turns the limit off.
    if not 0 <= value < math.inf:
        raise ValueError(f"expected zero or a positive number, got {value!r}")
    return value


def _log_level(value: str) -> str:
    level = value.lower()
    if level not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return level


def _log_format(value: str) -> str:
    if value not in LOG_FORMATS:
        raise ValueError(f"expected one of {', '.join(LOG_FORMATS)}, got {value!r}")
    return str(value)


def _trusted_proxies(value: str) -> str:
    # uvicorn takes any entry it cannot parse as a name that never matches: a
    # typo would silently trust no proxy at all.
    import ipaddress

    entries = [entry.strip() for entry in value.split(",")]
    if entries == ["*"]:
        return "*"
    for entry in entries:
        try:
            if "/" in entry:
                ipaddress.ip_network(entry)
            else:
                ipaddress.ip_address(entry)
        except ValueError:
            raise ValueError(
                f'{entry!r} is not an IP address or network; expected "*" or a '
                'comma-separated list such as "127.0.0.1,10.0.0.0/8"'
            ) from None
    return ",".join(entries)


SESSION_BACKENDS = ("memory", "redis")


def _session_backend(value: str) -> str:
    if value not in SESSION_BACKENDS:
        raise ValueError(f"expected one of {', '.join(SESSION_BACKENDS)}, got {value!r}")
    return value


_COOKIE_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~]+")  # RFC 6265's token


def _cookie_name(value: str) -> str:
    if not _COOKIE_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a cookie name (letters, digits and !#$%&'*+-.^_`|~)")
    return value


_PACKAGE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_CALLABLE_REF = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
APP_ENTRY_KEYS = ("app", "prefix", "security")


def _apps(value: list[Any]) -> list[dict[str, Any]]:
    """The `apps` entries as `{"app", "prefix", "security"}`; ValueError names a bad one."""
    found = [_app_entry(number, entry) for number, entry in enumerate(value)]
    names = [entry["app"] for entry in found]
    for number, name in enumerate(names):
        if name in names[:number]:
            raise ValueError(f"entry {number} ({name!r}): {name!r} is listed twice")
    return found


def _app_entry(number: int, entry: Any) -> dict[str, Any]:
    if isinstance(entry, str):
        entry = {"app": entry}
    if not isinstance(entry, dict):
        raise ValueError(
            f'entry {number}: expected a package name or {{app = "...", prefix = "/..."}}, '
            f"got {entry!r}"
        )
    name = entry.get("app")
    if not isinstance(name, str) or not _PACKAGE.match(name):
        raise ValueError(f'entry {number}: app must be a package name such as "blog", got {name!r}')
    where = f"entry {number} ({name!r})"
    for key in entry:
        if key not in APP_ENTRY_KEYS:
            raise ValueError(f"{where}: unknown key {key!r} (allowed: {', '.join(APP_ENTRY_KEYS)})")
    prefix = entry.get("prefix", "")
    if not isinstance(prefix, str) or (prefix and not prefix.startswith("/")):
        raise ValueError(f"{where}: prefix must be \"\" or start with '/', got {prefix!r}")
    security = entry.get("security")  # None: each group keeps its own
    # `is`: 0 == False, and a 0 is no more a security than a 1.
    open_or_kept = security is None or security is False
    if not open_or_kept and not (isinstance(security, str) and _CALLABLE_REF.match(security)):
        raise ValueError(f'{where}: security must be false or "module:callable", got {security!r}')
    return {"app": name, "prefix": prefix.rstrip("/"), "security": security}


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "apps": _apps,
    "ws_allowed_origins": _origins,
    "max_header_count": _positive,
    "max_header_bytes": _positive,
    "header_timeout": _positive,
    "presence_interval": _positive,
    "ws_send_timeout": _non_negative,
    "ws_send_buffer": _non_negative,
    "shutdown_timeout": _non_negative,
    "log_level": _log_level,
    "log_format": _log_format,
    "forwarded_allow_ips": _trusted_proxies,
    "session_backend": _session_backend,
    "session_cookie": _cookie_name,
    "session_idle_timeout": _positive,
    "session_absolute_timeout": _positive,
}
_BOOLS = {"true": True, "1": True, "false": False, "0": False}


def _convert(key: str, value: Any, where: str) -> Any:
    kind = _TYPES[key]
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    if isinstance(value, str) and kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    if kind is bool and isinstance(value, str):  # from a variable: NOVA_ACCESS_LOG=1
        word = value.strip().lower()
        if word in _BOOLS:
            return _BOOLS[word]
        raise ConfigError(f"{where}: expected true, false, 1 or 0, got {value!r}")
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    raise ConfigError(f"{where}: expected {kind.__name__}, got {value!r}")


def known_keys() -> list[str]:
    return [f.name for f in fields(NovaConfig) if f.name != "root"]
