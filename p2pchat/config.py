"""Settings, merged once: defaults < settings file < environment < command line.

The settings file is TOML, flat (one `key = value` per line). It is read and
written with tomlkit so that the user's comments and layout survive `config set`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from p2pchat.bindings import check_binding_ids
from p2pchat.paths import get_paths
from p2pchat.settings import Settings, parse_keymap, positive_size

if TYPE_CHECKING:
    import tomlkit

# tomlkit is imported where a file is read or written: it costs tens of milliseconds before
# the app's first frame, and a first start has no settings file.

ENV_PREFIX = "P2PCHAT_"


class ConfigError(Exception):
    """A settings value or file the user must fix; the message is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _download_dir(value: str) -> Path | None:
    return Path(value).expanduser() if value.strip() else None


_SIZE_UNITS = {
    "": 1, "b": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
}  # fmt: skip
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str) -> int:
    """`1048576`, `"512 MB"`, `"4 GB"` (powers of 1000) or `"4 GiB"` (powers of 1024) -> bytes."""
    match = _SIZE.match(text)
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _SIZE_UNITS:
        raise ValueError(f"{text!r} is not a size (for example 4 GB, 512 MiB, or a number of bytes)")
    size = int(float(match.group(1)) * _SIZE_UNITS[unit])
    return positive_size(size)


def format_size(size: int) -> str:
    """Exact units when the size has them ("4 GB", "16 GiB"), else one decimal in binary units."""
    for power, (decimal, binary) in ((4, ("TB", "TiB")), (3, ("GB", "GiB")), (2, ("MB", "MiB")), (1, ("KB", "KiB"))):
        if size % 1024**power == 0:
            return f"{size // 1024**power} {binary}"
        if size % 1000**power == 0:
            return f"{size // 1000**power} {decimal}"
    for power, unit in ((4, "TiB"), (3, "GiB"), (2, "MiB"), (1, "KiB")):
        if size >= 1024**power:
            return f"{size / 1024**power:.1f} {unit}"
    return f"{size} B"


# -- the keys ------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    name: str
    kind: str  # bool | int | float | str | size: how values are read and written
    help: str
    check: Callable[[Any], Any] = lambda value: value


# Every setting a user may change: the fields of Settings that carry help text.
KEYS: dict[str, Key] = {
    item.name: Key(item.name, item.metadata["kind"], item.metadata["help"], item.metadata["check"])
    for item in fields(Settings)
    if "help" in item.metadata
}

_TYPE_WORDS = {
    "bool": "true or false",
    "int": "a whole number",
    "float": "a number",
    "str": "a string",
    "path": "a string (a folder path)",
    "size": 'a number of bytes or a size like "4 GB"',
    "keymap": 'a table of binding id = "keys"',
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _unknown_key(key: str) -> ConfigError:
    return ConfigError(f"unknown settings key {key!r} (known keys: {', '.join(KEYS)})")


def _lookup(key: str) -> Key:
    spec = KEYS.get(key.strip().lower().replace("-", "_"))
    if spec is None:
        raise _unknown_key(key)
    return spec


def _from_toml(spec: Key, value: Any) -> Any:
    """A value read from the file, already typed by TOML; raises ValueError."""
    kind = spec.kind
    ok = (
        (kind == "bool" and isinstance(value, bool))
        or (kind == "int" and isinstance(value, int) and not isinstance(value, bool))
        or (kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool))
        or (kind in ("str", "path") and isinstance(value, str))
        or (kind == "size" and isinstance(value, (int, str)) and not isinstance(value, bool))
        or (kind == "keymap" and isinstance(value, (dict, str)))
    )
    if not ok:
        raise ValueError(f"must be {_TYPE_WORDS[kind]}, not {_describe(value)}")
    if kind == "size" and isinstance(value, str):
        return parse_size(value)
    if kind == "path":
        return _download_dir(value)
    if kind == "keymap" and isinstance(value, str):
        return parse_keymap(value)  # the older "id=keys, ..." form is still read
    return spec.check(float(value) if kind == "float" else value)


def _from_text(spec: Key, text: str) -> Any:
    """A value typed by a person (environment, command line, `config set`)."""
    kind = spec.kind
    if kind == "bool":
        word = text.strip().lower()
        if word not in _TRUE | _FALSE:
            raise ValueError(f"must be true or false, not {text!r}")
        return word in _TRUE
    if kind == "int":
        try:
            return spec.check(int(text.strip()))
        except ValueError as error:
            if text.strip().lstrip("+-").isdigit():
                raise
            raise ValueError(f"must be a whole number, not {text!r}") from error
    if kind == "float":
        try:
            number = float(text.strip())
        except ValueError:
            raise ValueError(f"must be a number, not {text!r}") from None
        return spec.check(number)
    if kind == "size":
        return parse_size(text)
    if kind == "path":
        return _download_dir(text)
    if kind == "keymap":  # typed by a person: an unknown binding id is a mistake to name now
        return check_binding_ids(parse_keymap(text))
    return spec.check(text)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _line_of(text: str, key: str) -> int | None:
    name = re.escape(key)
    pattern = re.compile(rf"^[ \t]*(?:[\"']?{name}[\"']?[ \t]*=|\[+[ \t]*{name}[ \t]*\])", re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _where(path: Path, text: str, key: str) -> str:
    line = _line_of(text, key)
    return f"{path}, line {line}" if line else str(path)


# -- reading ---------------------------------------------------------------------------


def _read_file(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConfigError(f"cannot read settings file {path}: it is a directory") from None
    except UnicodeDecodeError:
        raise ConfigError(f"cannot read settings file {path}: it is not UTF-8 text") from None
    except OSError as error:
        raise ConfigError(f"cannot read settings file {path}: {error.strerror}") from None


def _parse(path: Path, text: str) -> tomlkit.TOMLDocument:
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        return tomlkit.parse(text)
    except TOMLKitError as error:
        line, col = getattr(error, "line", None), getattr(error, "col", None)
        where = f", line {line} column {col}" if line else ""
        reason = str(error).split(" at line ")[0].replace("'\\x00'", "end of file")
        raise ConfigError(f"{path}{where}: not valid TOML ({reason})") from None


def _file_values(path: Path, text: str) -> dict[str, Any]:
    document = _parse(path, text)
    values: dict[str, Any] = {}
    for raw_key, raw_value in document.unwrap().items():
        spec = KEYS.get(raw_key)
        if spec is None:
            raise ConfigError(
                f"{_where(path, text, raw_key)}: unknown settings key {raw_key!r} "
                f"(known keys: {', '.join(KEYS)})"
            )
        try:
            values[raw_key] = _from_toml(spec, raw_value)
        except ValueError as error:
            raise ConfigError(f"{_where(path, text, raw_key)}: {raw_key} {error}") from None
    return values


def _env_values(environ: dict[str, str]) -> dict[str, tuple[Any, str]]:
    values: dict[str, tuple[Any, str]] = {}
    for spec in KEYS.values():
        variable = ENV_PREFIX + spec.name.upper()
        if variable in environ:
            try:
                values[spec.name] = (_from_text(spec, environ[variable]), variable)
            except ValueError as error:
                raise ConfigError(f"environment variable {variable}: {spec.name} {error}") from None
    return values


def _cli_value(key: str, value: Any) -> Any:
    spec = KEYS.get(key)
    if spec is None:
        return value  # command-line-only fields: connect, plain, debug, port_explicit
    try:
        if isinstance(value, str):
            return _from_text(spec, value)
        return _from_toml(spec, str(value) if isinstance(value, Path) else value)
    except ValueError as error:
        raise ConfigError(f"command line: {key} {error}") from None


def default_config_path() -> Path:
    return get_paths().config_file


def load_settings(
    cli_overrides: dict[str, Any] | None = None,
    config_path: Path | None = None,
    environ: dict[str, str] | None = None,
) -> tuple[Settings, dict[str, str]]:
    """Build the one Settings object; also say where each value came from.

    `config_path` given explicitly must exist; the default file may be absent.
    Raises ConfigError for anything the user must fix.
    """
    cli_overrides = cli_overrides or {}
    environ = dict(os.environ) if environ is None else environ
    settings = Settings()
    sources = {item.name: "default" for item in fields(Settings)}
    known = set(sources)
    unknown = [key for key in cli_overrides if key not in known]
    if unknown:
        raise _unknown_key(unknown[0])

    path = config_path if config_path is not None else default_config_path()
    text = _read_file(path)
    if text is None and config_path is not None:
        raise ConfigError(f"settings file {path} does not exist (create it with: p2pchat --config {path} config)")
    if text is not None:
        for key, value in _file_values(path, text).items():
            setattr(settings, key, value)
            sources[key] = f"file {path}"
    for key, (value, variable) in _env_values(environ).items():
        setattr(settings, key, value)
        sources[key] = f"env {variable}"
    for key, value in cli_overrides.items():
        setattr(settings, key, _cli_value(key, value))
        sources[key] = "command line"
    if sources["port"] != "default":  # only the built-in default may move to a free port
        settings.port_explicit = True
        settings.port_source = sources["port"]
    check_together(settings)
    return settings, sources


def check_together(settings: Settings) -> None:
    """Values that are each fine but do not work together."""
    interval, timeout = settings.heartbeat_interval, settings.heartbeat_timeout
    if timeout < 2 * interval:
        # A link would count as lost between two heartbeats, and reconnect over and over.
        raise ConfigError(
            f"heartbeat_timeout ({timeout:g} s) must be at least twice heartbeat_interval ({interval:g} s)"
        )


# -- showing values ------------------------------------------------------------------------


def format_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return ""
    if key == "max_file_size":
        return f"{value} ({format_size(value)})"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):  # the keymap
        return ", ".join(f"{binding}={keys}" for binding, keys in value.items())
    return str(value)


def get_value(key: str, config_path: Path | None = None) -> tuple[str, str]:
    """The effective value of one key as text, and where it came from."""
    spec = _lookup(key)
    settings, sources = load_settings({}, config_path)
    value = getattr(settings, spec.name)
    if spec.name == "download_dir" and value is None:
        value = get_paths().downloads_dir
    if spec.name == "max_file_size":
        return str(value), sources[spec.name]
    return format_value(spec.name, value), sources[spec.name]


# -- writing ---------------------------------------------------------------------------


def _toml_default(spec: Key) -> Any:
    value = getattr(Settings(), spec.name)
    if spec.kind == "path":
        return "" if value is None else str(value)
    if spec.kind == "size":
        return f"{value // 1024**3} GiB" if value % 1024**3 == 0 else value
    if spec.kind == "keymap":
        return _inline_table(value)
    return value


def _inline_table(value: dict[str, str]) -> Any:
    import tomlkit

    table = tomlkit.inline_table()
    table.update(value)
    return table


def default_config_text() -> str:
    lines = [
        "# p2pchat settings.",
        "#",
        "# Every key is optional: remove the '#' in front of a key to change it.",
        "# Precedence, lowest first: built-in defaults < this file < environment variables",
        "# (P2PCHAT_<KEY>, e.g. P2PCHAT_PORT=9000) < command-line options.",
        "# Change a value from the shell with: p2pchat config set KEY VALUE",
        "# See every value in effect, and where it came from, with: p2pchat config show",
    ]
    import tomlkit

    for spec in KEYS.values():
        lines.append("")
        lines.extend(f"# {line}" for line in spec.help.splitlines())
        default = tomlkit.item(_toml_default(spec)).as_string()
        lines.append(f"# {spec.name} = {default}")
    return "\n".join(lines) + "\n"


def write_default_config(path: Path, force: bool = False) -> Path:
    """Write the commented settings file; refuse to replace an existing one unless forced."""
    if path.exists() and not force:
        raise ConfigError(f"settings file {path} already exists (use --force to replace it)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(default_config_text(), encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot write settings file {path}: {error.strerror}") from None
    return path


def _toml_value(spec: Key, value_text: str, value: Any) -> Any:
    """What to store in the file: the typed value, or the text as typed for sizes and paths."""
    if spec.kind == "size":
        return value if value_text.strip().isdigit() else value_text.strip()
    if spec.kind == "path":
        return value_text.strip()
    if spec.kind == "keymap":
        return _inline_table(value)  # one line, so it can replace the commented default in place
    return value


def set_value(path: Path, key: str, value_text: str) -> Any:
    """Validate `value_text` for `key` and write it to the settings file at `path`.

    Comments and layout are kept. A key commented out in the file (`# port = 8080`,
    as the default file has them) is uncommented in place; a missing file is first
    created with the commented defaults. Returns the typed value.
    """
    spec = _lookup(key)
    try:
        value = _from_text(spec, value_text)
    except ValueError as error:
        raise ConfigError(f"{spec.name} {error}") from None
    stored = _toml_value(spec, value_text, value)
    text = _read_file(path)
    if text is None:
        text = default_config_text()
    document = _parse(path, text)
    _file_values(path, text)  # refuse to edit a file that is already wrong elsewhere
    if spec.name in document:
        document[spec.name] = stored
        new_text = document.as_string()
    else:
        import tomlkit

        line = f"{spec.name} = {tomlkit.item(stored).as_string()}"
        commented = re.compile(rf"^[ \t]*#[ \t]*{re.escape(spec.name)}[ \t]*=.*$", re.MULTILINE)
        new_text, count = commented.subn(lambda _: line, text, count=1)
        if not count:
            document[spec.name] = stored
            new_text = document.as_string()
    in_file = Settings()
    for name, stored_value in _file_values(path, new_text).items():  # what we write must read back
        setattr(in_file, name, stored_value)
    check_together(in_file)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new_text, encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot write settings file {path}: {error.strerror}") from None
    return value
