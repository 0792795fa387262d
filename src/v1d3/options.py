"""Command-line options of the typed configs, derived from their fields.

Every field of a config dataclass is one option, and so is every field of a config nested in it
(``ScenarioConfig.synthetic``). The option is ``--`` and the field name with dashes, unless the
field records its own (``field(metadata={"flag": "--radius-m"})``); a nested config may give its
fields' options a prefix (``metadata={"prefix": "synthetic-"}``). A bool field is a flag that
sets the opposite of its default (``cancellations``, True by default, is ``--no-cancellations``);
a tuple is written comma-separated. The help text is the field's docstring. A field that names a
file or folder says so (``metadata={"path": True}``), so the commands make it absolute. A field
whose values the command line cannot spell by type alone (``ScenarioConfig.shocks``) names an
:class:`OptionCodec` in its metadata (``"codec"``) that parses and writes them.

The CLI builds its options from :func:`config_options` and its configs with :func:`build_config`;
the command that regenerates a study writes them back with :func:`option_args`. Both sides read
the same fields, so an option cannot be known to one and missing from the other.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import types
import typing
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, Union

from v1d3.errors import ConfigError

__all__ = [
    "ConfigOption",
    "OptionCodec",
    "config_options",
    "build_config",
    "replace_fields",
    "option_args",
    "first_difference",
    "field_doc",
]


class OptionCodec(Protocol):
    """How a field's option is parsed and written when its type alone does not say."""

    cli_type: Any
    """What the command line parses (``list[str] | None`` for a repeatable option)."""
    note: str
    """Said after the field's docstring in the option's help."""

    def parse(self, given: Any) -> Any:
        """The field value of a parsed command-line value (None: the option was not given)."""
        ...

    def words(self, flag: str, value: Any) -> list[str]:
        """The command-line words that set the field to ``value`` (a non-default value)."""
        ...


@dataclass(frozen=True)
class ConfigOption:
    """One config field as a command-line option."""

    path: tuple[str, ...]
    """Field names from the root config down to the field (``("synthetic", "rings")``)."""
    flag: str
    """The option (``--synthetic-rings``)."""
    type: Any
    """The field's annotation (``int``, ``str | None``, ``tuple[float, ...]``)."""
    default: Any
    """The field's value in the root config's default instance."""
    help: str
    """The field's docstring, on one line."""
    codec: OptionCodec | None = None
    """How the option is parsed and written, when the field's type does not say."""
    is_path: bool = False
    """The field names a file or folder (``metadata={"path": True}``): a command receives it
    made absolute (:mod:`v1d3.cli.paths`)."""

    @property
    def name(self) -> str:
        """The option's parameter name (``synthetic_rings``)."""
        return self.flag.lstrip("-").replace("-", "_")

    @property
    def field(self) -> str:
        """The field's dotted name (``synthetic.rings``)."""
        return ".".join(self.path)

    @property
    def cli_type(self) -> Any:
        """What the command line parses: tuples come as one comma-separated string."""
        if self.codec is not None:
            return self.codec.cli_type
        return str | None if _is_tuple(self.type) else self.type

    @property
    def cli_default(self) -> Any:
        """The parameter's default: a flag is off, a tuple absent, the rest the field's."""
        if self.codec is not None:
            return None
        if self.type is bool:
            return False
        return None if _is_tuple(self.type) else self.default

    @property
    def cli_help(self) -> str:
        """The help text: the field's docstring (and how a tuple is written)."""
        if self.codec is not None:
            return f"{self.help} {self.codec.note}"
        if _is_tuple(self.type):
            # in parentheses: typer reads square brackets in help as console markup
            return f"{self.help} Comma-separated (default: {','.join(map(str, self.default))})."
        if self.type is bool and self.default:
            return f"{self.help} (On by default; the flag turns it off.)"
        return self.help

    def value(self, given: Any) -> Any:
        """The field value of a parsed command-line value (ConfigError when it is malformed)."""
        if self.codec is not None:
            return self.default if given is None else self.codec.parse(given)
        if self.type is bool:
            return (not self.default) if given else self.default
        if _is_tuple(self.type):
            if given is None:
                return self.default
            (elem,) = typing.get_args(self.type)[:1]
            parts = [p.strip() for p in str(given).split(",") if p.strip()]
            try:
                return tuple(elem(p) for p in parts)
            except ValueError:
                raise ConfigError(
                    f"{self.flag}: expected {elem.__name__} values separated by commas, "
                    f"got {given!r}"
                ) from None
        return given

    def args(self, value: Any) -> list[str]:
        """The command-line words that set the field to ``value`` (none for its default)."""
        if value == self.default:
            return []
        if self.codec is not None:
            return self.codec.words(self.flag, value)
        if self.type is bool:
            return [self.flag]
        if _is_tuple(self.type):
            return [self.flag, ",".join(str(v) for v in value)]
        return [self.flag, str(value)]


def _is_tuple(tp: Any) -> bool:
    return typing.get_origin(tp) is tuple


def _nested(tp: Any) -> type | None:
    """The config class of a nested-config field, else None."""
    return tp if isinstance(tp, type) and dataclasses.is_dataclass(tp) else None


@functools.cache
def config_options(cls: type) -> tuple[ConfigOption, ...]:
    """The options of every (nested) field of config class ``cls``, in field order."""
    out = _options(cls, cls(), (), "")
    seen: dict[str, str] = {}
    for o in out:
        if o.name in seen:
            raise TypeError(f"{cls.__name__}: {o.field} and {seen[o.name]} share {o.flag}")
        seen[o.name] = o.field
    return out


def _options(
    cls: type, default: Any, path: tuple[str, ...], prefix: str
) -> tuple[ConfigOption, ...]:
    hints = typing.get_type_hints(cls)
    docs = _field_docs(cls)
    out: list[ConfigOption] = []
    for f in dataclasses.fields(cls):
        tp, value = hints[f.name], getattr(default, f.name)
        sub = _nested(tp)
        if sub is not None:
            out += _options(sub, value, (*path, f.name), prefix + f.metadata.get("prefix", ""))
            continue
        if _optional(tp) and value is not None:
            raise TypeError(f"{cls.__name__}.{f.name}: an optional field must default to None")
        flag = f.metadata.get("flag")
        if flag is None:
            flag = (
                "--" + ("no-" if tp is bool and value else "") + prefix + f.name.replace("_", "-")
            )
        codec = f.metadata.get("codec")
        doc = docs.get(f.name, "")
        is_path = bool(f.metadata.get("path", False))
        out.append(ConfigOption((*path, f.name), flag, tp, value, doc, codec, is_path))
    return tuple(out)


def _optional(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    return (origin is Union or origin is types.UnionType) and type(None) in typing.get_args(tp)


def field_doc(cls: type, name: str) -> str:
    """The docstring of dataclass field ``name`` (the string under it), on one line."""
    return _field_docs(cls).get(name, "")


@functools.cache
def _field_docs(cls: type) -> dict[str, str]:
    """The docstrings under a dataclass's fields, each on one line."""
    body = ast.parse(inspect.getsource(cls)).body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, nxt in zip(body, body[1:], strict=False):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
                docs[node.target.id] = " ".join(str(nxt.value.value).split()).replace("``", "`")
    return docs


def build_config(cls: type, given: Mapping[str, Any]) -> Any:
    """The config of class ``cls`` that the parsed options ``given`` (by parameter name) set;
    fields not given keep their defaults. Validated by the configs themselves (ConfigError)."""
    by_name = {o.name: o for o in config_options(cls)}
    leaves = {by_name[k].path: by_name[k].value(v) for k, v in given.items()}
    return _build(cls, (), leaves)


def replace_fields(config: Any, given: Mapping[str, Any], what: str) -> Any:
    """``config`` with the fields ``given`` sets, by field name (a nested config whole:
    ``kdd=KddConfig(...)``) or by the option name of a nested field (``zone_day_sd``, ``grid``,
    ``kdd_orders``), each given as the field's value. An unknown name is a ConfigError naming
    ``what`` and the names it knows."""
    cls: type = type(config)
    own = {f.name for f in dataclasses.fields(cls)}
    by_name = {o.name: o for o in config_options(cls)}
    unknown = sorted(k for k in given if k not in own and k not in by_name)
    if unknown:
        raise ConfigError(
            f"{what}: unknown option {unknown[0]!r}; expected one of {', '.join(sorted(own))} "
            "or a source option (v1d3 simulate --help)"
        )
    config = dataclasses.replace(config, **{k: _tuple(v) for k, v in given.items() if k in own})
    for key, value in given.items():
        if key not in own:
            config = _replace_at(config, by_name[key].path, _tuple(value))
    return config


def _tuple(value: Any) -> Any:
    """A list given for a field as the tuple the configs hold (their sequences are tuples)."""
    return tuple(value) if isinstance(value, list) else value


def _replace_at(config: Any, path: tuple[str, ...], value: Any) -> Any:
    head, *rest = path
    new = value if not rest else _replace_at(getattr(config, head), tuple(rest), value)
    return dataclasses.replace(config, **{head: new})


def _build(cls: type, path: tuple[str, ...], leaves: dict[tuple[str, ...], Any]) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        here = (*path, f.name)
        sub = _nested(hints[f.name])
        if sub is not None:
            if any(p[: len(here)] == here for p in leaves):
                kwargs[f.name] = _build(sub, here, leaves)
        elif here in leaves:
            kwargs[f.name] = leaves[here]
    return cls(**kwargs)


def _get(config: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        config = getattr(config, name)
    return config


def option_args(
    config: Any,
    skip: Collection[str] = (),
    always: Collection[str] = (),
    only: Collection[str] | None = None,
) -> list[str]:
    """The command-line words that rebuild ``config``: an option for every field that differs
    from its default (and for those named in ``always``); ``skip`` leaves options out, ``only``
    keeps just those (by parameter name)."""
    out: list[str] = []
    cls: type = type(config)
    for o in config_options(cls):
        if o.name in skip or (only is not None and o.name not in only):
            continue
        value = _get(config, o.path)
        out += [o.flag, str(value)] if o.name in always else o.args(value)
    return out


def first_difference(
    a: Any, b: Any, skip: Collection[str] = ()
) -> tuple[ConfigOption, Any, Any] | None:
    """The first field (option, value in ``a``, value in ``b``) where two configs of one class
    differ, or None; ``skip`` names options not compared."""
    cls: type = type(a)
    for o in config_options(cls):
        if o.name not in skip and _get(a, o.path) != _get(b, o.path):
            return o, _get(a, o.path), _get(b, o.path)
    return None
