"""Strict YAML for every settings file: parse it (``read_yaml``) and build a dataclass from the
mapping (``build_dataclass``), refusing unknown keys and values of the wrong type in one
``ConfigError`` line. Shared by the experiment config (``vall_e.config``), fine-tuning, codec
training and corpus recipes.
"""
from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from vall_e.errors import ConfigError


def read_yaml(path: str | Path, what: str = "config file") -> Any:
    """The parsed YAML of ``path``; a missing, empty or non-YAML file is one ``ConfigError`` line
    naming ``what`` and, when YAML knows it, the line of the mistake. Floats may be written in
    any usual spelling (``3e-4``, ``3.0e-4``, ``0.0003``, ``1E5``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} not found: {path}")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 (safe)
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" (line {line + 1})" if line is not None else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (not UTF-8); give a YAML {what}") from None
    if raw is None:  # an empty file (or only comments) is a mistake, not "all defaults"
        raise ConfigError(f"{what} {path} is empty: write the settings into it (see configs/)")
    return raw


# PyYAML follows YAML 1.1, where a float needs a dot: ``3e-3`` and ``1E5`` load as strings
# ("expected float, got '3e-3'"). This loader also reads exponent forms without a dot as floats
# (YAML 1.2's spelling); everything else is yaml.SafeLoader's.
_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789."))


def build_dataclass(cls, raw: Any, where: str):
    """Build dataclass ``cls`` from a mapping, refusing unknown keys and wrong types."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping for {cls.__name__}, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {unknown} in {cls.__name__}; valid keys: {sorted(fields)}"
        )
    values = {}
    for name, value in raw.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            values[name] = build_dataclass(hint, value, f"{where}:{name}")
        else:
            values[name] = _check_type(value, hint, f"{where}:{cls.__name__}.{name}")
    return cls(**values)


def _check_type(value: Any, hint: Any, where: str) -> Any:
    """Accept ``value`` if it fits ``hint`` (ints widen to floats); otherwise raise ConfigError."""
    if hint is Any:
        return value
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return _check_type(value, option, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: value {value!r} does not fit type {hint}")
    base = origin or hint
    if base is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if base is float and isinstance(value, float) and math.isnan(value):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if base is float and isinstance(value, str) and _is_float_spelling(value):
        return float(value.replace("_", ""))  # "3e-3" quoted, or from JSON
    if base is int and isinstance(value, float) and value.is_integer():
        return int(value)  # max_steps: 1e4
    if base is int and isinstance(value, bool):
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if isinstance(base, type) and not isinstance(value, base):
        raise ConfigError(f"{where}: expected {base.__name__}, got {value!r}")
    return value


def _is_float_spelling(text: str) -> bool:
    """True for a finite number written as text: ``3e-3``, ``-1.5E+2``, ``.5``, ``1_000.0``."""
    text = text.strip()
    if not re.fullmatch(r"[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][-+]?[0-9]+)?", text):
        return False
    return math.isfinite(float(text.replace("_", "")))
