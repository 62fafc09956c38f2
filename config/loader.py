"""Reads the daemon's TOML config into a `DaemonConfig`.

The sources, in order: the main file; the bots of `bots.d/*.toml` beside it, by file name;
then `TRADERD_<SECTION>__<KEY>` environment overrides (`TRADERD_API__PORT=8001`),
`TRADERD_JWT_SECRET` and `TRADERD_ENCRYPTION_KEY`. The state directory is the file's `state_dir`, else `$TRADERD_STATE_DIR`,
else systemd's `$STATE_DIRECTORY`, else `./var`; an empty special variable counts as unset.
The first problem found is raised as a `ConfigError` naming the file and the key, in words
rather than pydantic's.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr, Tag, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from config.errors import ConfigError, did_you_mean
from config.schema import KEY_ERROR, SECRET_KEYS, DaemonConfig, LoadContext

__all__ = ["ConfigError", "database_url", "load_config", "resolve_state_dir"]

ENV_PREFIX = "TRADERD_"
BOTS_DIR = "bots.d"
DATABASE_FILE = "traderd.sqlite3"

_SECTIONS: dict[str, type[BaseModel]] = {
    name: field.annotation
    for name, field in DaemonConfig.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
}
"""The tables an environment variable can override: `api`, `database`, ..."""

Origin = tuple[Path, int]
"""Where a bot was defined: its file and its index among that file's `[[bots]]`."""


def load_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> DaemonConfig:
    """The validated config of the file at `path`, its `bots.d/` and the environment.

    `environ` defaults to `os.environ`. The returned `state_dir` is absolute. Raises
    `ConfigError` for the first problem found.
    """
    environ = os.environ if environ is None else environ
    path = Path(path)
    raw = _read_toml(path)
    origins = _merge_bot_files(raw, path)
    overrides = _apply_overrides(raw, environ, path)
    context = LoadContext(base_dir=path.parent.absolute(), environ=environ)
    try:
        config = DaemonConfig.model_validate(raw, context=context)
    except ValidationError as exc:
        # `from None`: the pydantic error may quote a value, and a traceback must not show it.
        raise _config_error(exc.errors(include_url=False)[0], path, origins, overrides) from None
    return config.model_copy(update={"state_dir": resolve_state_dir(config, environ)})


def resolve_state_dir(config: DaemonConfig, environ: Mapping[str, str] | None = None) -> Path:
    """The absolute state directory: `state_dir`, else `$TRADERD_STATE_DIR`, else the first
    path of systemd's `$STATE_DIRECTORY`, else `./var`. An empty variable counts as unset."""
    environ = os.environ if environ is None else environ
    if config.state_dir is not None:
        path = config.state_dir
    elif environ.get("TRADERD_STATE_DIR"):
        path = Path(environ["TRADERD_STATE_DIR"]).expanduser()
    elif environ.get("STATE_DIRECTORY"):
        path = Path(environ["STATE_DIRECTORY"].split(":")[0])
    else:
        path = Path("var")
    return path.resolve()


def database_url(config: DaemonConfig, environ: Mapping[str, str] | None = None) -> str:
    """The SQLAlchemy URL: `database.url`, else the SQLite file in the state directory."""
    if config.database.url is not None:
        return config.database.url
    return f"sqlite:///{resolve_state_dir(config, environ) / DATABASE_FILE}"


def _read_toml(path: Path) -> dict[str, Any]:
    """The TOML document at `path`, with every float as an exact `Decimal`."""
    try:
        with path.open("rb") as file:
            return tomllib.load(file, parse_float=Decimal)
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read the file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(path, "", "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"invalid TOML: {exc}") from None


def _merge_bot_files(raw: dict[str, Any], path: Path) -> list[Origin]:
    """Append the bots of `bots.d/*.toml` to `raw["bots"]`; return each bot's origin."""
    bots = raw.get("bots", [])
    if not isinstance(bots, list):
        return []  # validation reports the main file's `bots`
    origins = [(path, i) for i in range(len(bots))]
    folder = path.parent / BOTS_DIR
    for bot_file in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        document = _read_toml(bot_file)
        for key in document:
            if key != "bots":
                problem = f"unknown key {key!r}: a {BOTS_DIR} file holds only [[bots]] tables"
                raise ConfigError(bot_file, key, problem)
        more = document.get("bots", [])
        if not isinstance(more, list):
            raise ConfigError(bot_file, "bots", "expected an array of tables ([[bots]])")
        origins += [(bot_file, i) for i in range(len(more))]
        bots = bots + more
    raw["bots"] = bots
    return origins


def _apply_overrides(
    raw: dict[str, Any], environ: Mapping[str, str], path: Path
) -> dict[tuple[str, str], str]:
    """Write the `TRADERD_<SECTION>__<KEY>` variables into `raw`; return the variable behind
    each overridden (section, key), so that errors name the variable rather than the file."""
    overrides: dict[tuple[str, str], str] = {}
    for variable, text in sorted(environ.items()):
        if not variable.startswith(ENV_PREFIX) or "__" not in variable:
            continue
        section, _, key = variable.removeprefix(ENV_PREFIX).lower().partition("__")
        model = _SECTIONS.get(section)
        if model is None:
            raise ConfigError(
                path,
                variable,
                f"unknown section {section!r}{did_you_mean(section, _SECTIONS)};"
                f" the environment can override {', '.join(sorted(_SECTIONS))}",
            )
        field = model.model_fields.get(key)
        if field is None:
            hint = did_you_mean(key, model.model_fields)
            raise ConfigError(path, variable, f"unknown key {key!r} in [{section}]{hint}")
        if _set(raw, section, key, text if _is_text(field.annotation) else _parse_value(text)):
            overrides[(section, key)] = variable
    jwt_secret = environ.get("TRADERD_JWT_SECRET")
    if jwt_secret and _set(raw, "api", "jwt_secret", jwt_secret):
        overrides[("api", "jwt_secret")] = "TRADERD_JWT_SECRET"
    encryption_key = environ.get("TRADERD_ENCRYPTION_KEY")
    if encryption_key and _set(raw, "api", "encryption_key", encryption_key):
        overrides[("api", "encryption_key")] = "TRADERD_ENCRYPTION_KEY"
    return overrides


def _set(raw: dict[str, Any], section: str, key: str, value: object) -> bool:
    """`raw[section][key] = value`, unless the file's `section` is not a table (which
    validation then reports)."""
    table = raw.setdefault(section, {})
    if not isinstance(table, dict):
        return False
    table[key] = value
    return True


def _parse_value(text: str) -> object:
    """An override's value: a TOML number or boolean (or quoted string) when it is one, else
    the text itself."""
    try:
        value = tomllib.loads(f"value = {text}", parse_float=Decimal)["value"]
    except tomllib.TOMLDecodeError:
        return text
    return value if isinstance(value, bool | int | Decimal | str) else text


def _is_text(annotation: Any) -> bool:
    """Whether a field takes text, so an override of it is never parsed (a numeric password)."""
    if annotation in (str, SecretStr):
        return True
    if get_origin(annotation) not in (Union, UnionType, Annotated):
        return False
    return any(_is_text(argument) for argument in get_args(annotation))


def _config_error(
    error: ErrorDetails, path: Path, origins: Sequence[Origin], overrides: Mapping[tuple[str, str], str]
) -> ConfigError:
    """The `ConfigError` for one pydantic error: its file, its key path and a short problem."""
    context: dict[str, Any] = dict(error.get("ctx", {}))
    loc = tuple(error["loc"])
    if error["type"] == KEY_ERROR:
        loc += tuple(context["loc"])
    elif error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        loc += (context["discriminator"].strip("'"),)
    file, keys = _locate(_key_parts(loc), path, origins)
    problem = _describe(error, hide_input=any(part in SECRET_KEYS for part in keys))
    if "first" in context:
        first_file, first_keys = _locate(_key_parts(context["first"]), path, origins)
        where = _dotted(first_keys) if first_file == file else f"{_dotted(first_keys)} in {first_file}"
        problem += f" (first defined at {where})"
    variable = overrides.get((str(keys[0]), str(keys[1]))) if len(keys) >= 2 else None
    return ConfigError(file, variable or _dotted(keys), problem)


def _locate(keys: list[str | int], path: Path, origins: Sequence[Origin]) -> tuple[Path, list[str | int]]:
    """The file a key path is in: `bots[i]` may come from a `bots.d` file, under its own index."""
    if len(keys) >= 2 and keys[0] == "bots" and isinstance(keys[1], int) and keys[1] < len(origins):
        file, index = origins[keys[1]]
        return file, ["bots", index, *keys[2:]]
    return path, keys


def _key_parts(loc: Sequence[str | int]) -> list[str | int]:
    """The key path in pydantic's `loc`, less the parts that are no keys: the tags of tagged
    unions (`feeds.0.replay.path` is `feeds[0].path`) and dict-key markers."""
    parts: list[str | int] = []
    node: Any = DaemonConfig
    for part in loc:
        if part == "[key]":
            continue
        members = _tagged_members(node)
        if part in members:
            node = members[part]
            continue
        parts.append(part)
        node = _child(node, part)
    return parts


def _tagged_members(node: Any) -> dict[str, Any]:
    """The members of a tagged union by tag (`Tag` marks or a string discriminator's values)."""
    if get_origin(node) is not Annotated:
        return {}
    union, *marks = get_args(node)
    discriminator = next((mark.discriminator for mark in marks if isinstance(mark, FieldInfo)), None)
    members: dict[str, Any] = {}
    for member in get_args(union):
        if get_origin(member) is Annotated:
            model, *member_marks = get_args(member)
            members.update((mark.tag, model) for mark in member_marks if isinstance(mark, Tag))
        elif isinstance(discriminator, str):
            tags = get_args(member.model_fields[discriminator].annotation)
            members.update((tag, member) for tag in tags)
    return members


def _child(node: Any, part: str | int) -> Any:
    """The type found at `part` inside `node` (a model, a tuple or list, or a dict)."""
    while get_origin(node) is Annotated:
        node = get_args(node)[0]
    if isinstance(part, int):
        return next(iter(get_args(node)), None)
    if isinstance(node, type) and issubclass(node, BaseModel):
        field = node.model_fields.get(part)
        return None if field is None else field.annotation
    if get_origin(node) is dict:
        return get_args(node)[1]
    return None


def _dotted(parts: Sequence[str | int]) -> str:
    """`bots[1].config.lower_price` from `["bots", 1, "config", "lower_price"]`."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


_PROBLEMS = {
    "missing": "required key missing",
    "union_tag_not_found": "required key missing",
    "int_type": "expected an integer{got}",
    "int_parsing": "expected an integer{got}",
    "int_from_float": "expected an integer{got}",
    "float_type": "expected a number{got}",
    "float_parsing": "expected a number{got}",
    "decimal_type": "invalid decimal{value}",
    "decimal_parsing": "invalid decimal{value}",
    "finite_number": "expected a finite number{got}",
    "string_type": "expected a string{got}",
    "bool_type": "expected true or false{got}",
    "bool_parsing": "expected true or false{got}",
    "model_type": "expected a table{got}",
    "model_attributes_type": "expected a table{got}",
    "dict_type": "expected a table{got}",
    "list_type": "expected an array{got}",
    "tuple_type": "expected an array{got}",
    "path_type": "expected a path{got}",
    "literal_error": "expected {expected}{got}",
    "union_tag_invalid": "expected one of {expected_tags}, got {tag!r}",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "string_too_short": "must be at least {min_length} characters long",
    "string_too_long": "must be at most {max_length} characters long",
}
"""Short problems for pydantic's error types; `{got}` and `{value}` quote the input."""


def _describe(error: ErrorDetails, hide_input: bool) -> str:
    """The problem of one pydantic error in a few words, never quoting a secret."""
    context = error.get("ctx", {})
    if error["type"] == KEY_ERROR:
        return str(context["problem"])
    if error["type"] in ("value_error", "assertion_error"):
        return str(context["error"])
    if error["type"] == "string_too_short" and context.get("min_length") == 1:
        return "must not be empty"
    template = _PROBLEMS.get(error["type"])
    if template is None:
        return error["msg"]
    shown = "" if hide_input else _show(error.get("input"))
    return template.format(
        **context, got=f", got {shown}" if shown else "", value=f" {shown}" if shown else ""
    )


def _show(value: object) -> str:
    """A short rendering of a TOML value, in TOML's words."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, int | Decimal | float):
        return str(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__
