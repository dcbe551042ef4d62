"""`[tool.nova]` < `NOVA_*` < overrides; unknown keys and bad types are errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from nova_cli.core.config import ConfigError, NovaConfig, known_keys, load_config
from tests.runtime.conftest import Apps


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("NOVA_"):
            monkeypatch.delenv(name)


def project(tmp_path: Path, tool_nova: str) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.nova]\n" + tool_nova)
    return tmp_path


def test_defaults(tmp_path: Path) -> None:
    config = load_config(project(tmp_path, ""))
    assert config == NovaConfig(root=tmp_path.resolve())
    # prod unless something says dev: tracebacks are never shown by default.
    assert (config.host, config.port, config.environment) == ("127.0.0.1", 8080, "prod")
    assert config.max_body_size == 1024 * 1024
    assert config.plugins == [] and config.pubsub is None and not config.dev


def test_create_app_without_settings_is_prod(apps: Apps) -> None:
    root = apps.write({"router.py": "def routes(environment):\n    return []\n"})
    assert apps.app(root).state.nova_config.environment == "prod"
    assert not apps.app(root).debug  # Starlette's own traceback page stays off too


def test_tool_nova_values(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        """
app = "shop"
host = "0.0.0.0"
port = 9000
environment = "prod"
plugins = [["pre_request", "cors", { allow_origins = "*" }]]
pubsub = "redis://localhost:6379/0"
max_body_size = 2048
ws_idle_timeout = 5
""",
    )
    config = load_config(root)
    assert config.app == "shop"
    assert (config.host, config.port, config.environment) == ("0.0.0.0", 9000, "prod")
    assert config.plugins == [["pre_request", "cors", {"allow_origins": "*"}]]
    assert config.pubsub == "redis://localhost:6379/0"
    assert config.max_body_size == 2048
    assert config.ws_idle_timeout == 5.0 and isinstance(config.ws_idle_timeout, float)
    assert not config.dev


def test_precedence_pyproject_then_env_then_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, 'port = 9000\nenvironment = "staging"\nhost = "0.0.0.0"\n')
    monkeypatch.setenv("NOVA_PORT", "9001")
    monkeypatch.setenv("NOVA_ENVIRONMENT", "prod")
    config = load_config(root, port=9002)
    assert config.port == 9002  # override beats env
    assert config.environment == "prod"  # env beats pyproject
    assert config.host == "0.0.0.0"  # pyproject beats the default
    # A None override means "not given" (a CLI flag left out).
    assert load_config(root, port=None).port == 9001


def test_env_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path, "")
    monkeypatch.setenv("NOVA_ENV", "qa")
    monkeypatch.setenv("NOVA_PUBSUB_URL", "redis://r:1/2")
    monkeypatch.setenv("NOVA_MAX_BODY_SIZE", "77")
    monkeypatch.setenv("NOVA_APP", "other")
    config = load_config(root)
    assert (config.environment, config.pubsub, config.max_body_size, config.app) == (
        "qa",
        "redis://r:1/2",
        77,
        "other",
    )
    monkeypatch.setenv("NOVA_ENVIRONMENT", "prod")  # the long name wins over NOVA_ENV
    assert load_config(root).environment == "prod"


def test_default_environment_is_only_a_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_config(project(tmp_path, ""), default_environment="dev").environment == "dev"
    root = project(tmp_path, 'environment = "staging"\n')
    assert load_config(root, default_environment="dev").environment == "staging"
    monkeypatch.setenv("NOVA_ENVIRONMENT", "qa")
    assert load_config(root, default_environment="dev").environment == "qa"
    assert load_config(root, default_environment="dev", environment="x").environment == "x"


def test_root_from_nova_root_or_found_from_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, "port = 1234\n")
    sub = root / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert load_config().root == root.resolve()
    monkeypatch.chdir("/")
    monkeypatch.setenv("NOVA_ROOT", str(root))
    assert load_config().port == 1234


def test_unknown_key_in_tool_nova(tmp_path: Path) -> None:
    root = project(tmp_path, "prot = 80\n")
    with pytest.raises(
        ConfigError, match=r"unknown key \[tool.nova\].prot \(known: access_log, app, "
    ):
        load_config(root)


def test_unknown_override(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown setting 'prot'"):
        load_config(project(tmp_path, ""), prot=80)


@pytest.mark.parametrize(
    ("tool_nova", "message"),
    [
        ('port = "eighty"\n', r"\[tool.nova\].port in .*: expected int, got 'eighty'"),
        ("port = true\n", r"\[tool.nova\].port in .*: expected int, got True"),
        ("environment = 3\n", r"\[tool.nova\].environment in .*: expected str, got 3"),
        ('plugins = "cors"\n', r"\[tool.nova\].plugins in .*: expected list, got 'cors'"),
        ("port = [\n", r"pyproject.toml: "),
    ],
)
def test_bad_values_in_tool_nova(tmp_path: Path, tool_nova: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(project(tmp_path, tool_nova))


def test_tool_nova_must_be_a_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool]\nnova = 3\n")
    with pytest.raises(ConfigError, match=r"\[tool.nova\] must be a table"):
        load_config(tmp_path)


def test_bad_env_value_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVA_PORT", "http")
    with pytest.raises(ConfigError, match="NOVA_PORT: expected int, got 'http'"):
        load_config(project(tmp_path, ""))


def test_bad_override_type(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="setting max_body_size: expected int, got 'x'"):
        load_config(project(tmp_path, ""), max_body_size="x")


def test_known_keys() -> None:
    assert set(known_keys()) >= {"app", "host", "port", "environment", "plugins", "pubsub"}
    assert "root" not in known_keys()


def test_request_head_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_config(project(tmp_path, ""))
    assert (defaults.max_header_count, defaults.max_header_bytes, defaults.header_timeout) == (
        100,
        64 * 1024,
        10.0,
    )
    root = project(tmp_path, "max_header_count = 50\nmax_header_bytes = 8192\n")
    monkeypatch.setenv("NOVA_HEADER_TIMEOUT", "2.5")
    config = load_config(root)
    assert (config.max_header_count, config.max_header_bytes, config.header_timeout) == (
        50,
        8192,
        2.5,
    )


@pytest.mark.parametrize(
    ("tool_nova", "message"),
    [
        ("max_header_count = 0\n", r"max_header_count in .*: expected a positive number, got 0"),
        ("max_header_bytes = -1\n", r"max_header_bytes in .*: expected a positive number, got -1"),
        ("header_timeout = 0\n", r"header_timeout in .*: expected a positive number, got 0"),
        ("header_timeout = nan\n", r"header_timeout in .*: expected a positive number, got nan"),
        ("header_timeout = inf\n", r"header_timeout in .*: expected a positive number, got inf"),
    ],
)
def test_request_head_limits_must_be_positive(tmp_path: Path, tool_nova: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(project(tmp_path, tool_nova))


def test_a_bad_head_limit_from_a_variable_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVA_MAX_HEADER_COUNT", "0")
    with pytest.raises(ConfigError, match="NOVA_MAX_HEADER_COUNT: expected a positive number"):
        load_config(project(tmp_path, ""))


def test_log_and_proxy_settings(tmp_path: Path) -> None:
    defaults = load_config(project(tmp_path, ""))
    assert (
        defaults.log_level,
        defaults.log_format,
        defaults.access_log,
        defaults.proxy_headers,
        defaults.forwarded_allow_ips,
    ) == ("info", "text", False, True, "127.0.0.1,::1")
    assert load_config(project(tmp_path, ""), default_access_log=True).access_log is True
    root = project(
        tmp_path,
        'log_level = "WARNING"\nlog_format = "json"\naccess_log = false\n'
        'proxy_headers = false\nforwarded_allow_ips = "10.0.0.1, 10.1.0.0/16"\n',
    )
    config = load_config(root, default_access_log=True)  # [tool.nova] beats the command's
    assert (
        config.log_level,
        config.log_format,
        config.access_log,
        config.proxy_headers,
        config.forwarded_allow_ips,
    ) == ("warning", "json", False, False, "10.0.0.1,10.1.0.0/16")
    assert load_config(root, forwarded_allow_ips=" * ").forwarded_allow_ips == "*"


@pytest.mark.parametrize(
    ("text", "value"), [("true", True), ("1", True), ("False", False), ("0", False)]
)
def test_booleans_from_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, value: bool
) -> None:
    monkeypatch.setenv("NOVA_ACCESS_LOG", text)
    monkeypatch.setenv("NOVA_PROXY_HEADERS", text)
    config = load_config(project(tmp_path, ""))
    assert config.access_log is value and config.proxy_headers is value


@pytest.mark.parametrize(
    ("tool_nova", "message"),
    [
        ("access_log = 1\n", r"access_log in .*: expected bool, got 1"),
        ('access_log = "yes"\n', r"access_log in .*: expected true, false, 1 or 0, got 'yes'"),
        ('log_level = "loud"\n', r"log_level in .*: expected one of critical, error, warning, "),
        ('log_format = "xml"\n', r"log_format in .*: expected one of text, json, got 'xml'"),
        # uvicorn would take these as names that match no client: no proxy trusted.
        ('forwarded_allow_ips = "10.0.0.0/33"\n', r"'10.0.0.0/33' is not an IP address or net"),
        ('forwarded_allow_ips = "*, 10.0.0.1"\n', r"'\*' is not an IP address or network"),
        ('forwarded_allow_ips = "proxy.lan"\n', r"'proxy.lan' is not an IP address or network"),
    ],
)
def test_bad_log_and_proxy_settings(tmp_path: Path, tool_nova: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(project(tmp_path, tool_nova))
