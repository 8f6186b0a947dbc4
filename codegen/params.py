"""Parameter declarations: type, default, range or choices, one-line doc; coercion of JSON values.

A value coming from a graph document is checked here and nowhere else, and only values that pass
reach generated source (as ``repr`` of ints, floats, bools, strings from a fixed set, and tuples
of those).
"""

from __future__ import annotations

import keyword
import math
from dataclasses import dataclass
from typing import Any

from .dims import ExpressionTooLong, Sym, parse_sym
from .schema import dotted_name_problem

REQUIRED = object()


class ParamError(Exception):
    """A parameter value that does not fit its declaration; ``code`` is a diagnostic code."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"{shown!r}".replace("'", '"')
    return {int: "int", float: "float", list: "list", dict: "object"}.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class Param:
    """One parameter of a node type. Subclasses define ``kind`` and ``_coerce``."""

    name: str
    default: Any = REQUIRED
    doc: str = ""
    min: float | None = None
    max: float | None = None
    max_exclusive: bool = False
    optional: bool = False  # ``None`` is an accepted value (e.g. "infer from the input")

    kind = "any"

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def coerce(self, value: Any, symbols: frozenset[str] | None = None) -> Any:
        """Return the checked value or raise :class:`ParamError` with a sentence saying why."""
        if value is None and self.optional:
            return None
        if symbols is not None and isinstance(value, str) and value.startswith("$"):
            try:
                return parse_sym(value, symbols)
            except ExpressionTooLong as exc:
                raise ParamError(exc.code, str(exc)) from None
            except ValueError as exc:
                raise ParamError("PARAM_TYPE", str(exc)) from None
        return self._coerce(value)

    def _coerce(self, value: Any) -> Any:
        raise NotImplementedError

    def _expected(self, value: Any, what: str) -> ParamError:
        return ParamError("PARAM_TYPE", f"expected {what}, got {_type_name(value)}")

    def _check_range(self, value: float) -> None:
        if isinstance(value, Sym):
            return
        if self.min is not None and value < self.min:
            raise ParamError("PARAM_RANGE", f"must be ≥ {_fmt(self.min)}, got {value!r}")
        if self.max is not None:
            if self.max_exclusive and value >= self.max:
                raise ParamError("PARAM_RANGE", f"must be < {_fmt(self.max)}, got {value!r}")
            if not self.max_exclusive and value > self.max:
                raise ParamError("PARAM_RANGE", f"must be ≤ {_fmt(self.max)}, got {value!r}")

    def schema(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "type": self.kind, "doc": self.doc, "required": self.required}
        if not self.required:
            data["default"] = list(self.default) if isinstance(self.default, tuple) else self.default
        for key in ("min", "max"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.max_exclusive:
            data["max_exclusive"] = True
        if self.optional:
            data["nullable"] = True
        return data


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _strict_int(value: Any) -> bool:
    return type(value) is int


@dataclass(frozen=True)
class Int(Param):
    kind = "int"

    def _coerce(self, value: Any) -> Any:
        if isinstance(value, Sym):
            return value
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            value = int(value)
        if not _strict_int(value):
            raise self._expected(value, "int")
        self._check_range(value)
        return value


@dataclass(frozen=True)
class Float(Param):
    kind = "float"

    def _coerce(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._expected(value, "number")
        value = float(value)
        if not math.isfinite(value):
            raise ParamError("PARAM_RANGE", f"must be a finite number, got {value!r}")
        self._check_range(value)
        return value


@dataclass(frozen=True)
class Bool(Param):
    kind = "bool"

    def _coerce(self, value: Any) -> Any:
        if not isinstance(value, bool):
            raise self._expected(value, "bool")
        return value


@dataclass(frozen=True)
class Choice(Param):
    choices: tuple[str, ...] = ()
    kind = "choice"

    def _coerce(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise self._expected(value, "one of " + ", ".join(self.choices))
        if value not in self.choices:
            raise ParamError("PARAM_RANGE", f"must be one of {', '.join(self.choices)}; got {_type_name(value)}")
        return value

    def schema(self) -> dict[str, Any]:
        return {**super().schema(), "choices": list(self.choices)}


@dataclass(frozen=True)
class Ints(Param):
    """An int, or a list of ``length`` ints (kernel sizes, strides): ``3`` or ``[3, 5]``."""

    length: int = 1
    kind = "ints"

    def _coerce(self, value: Any) -> Any:
        if isinstance(value, Sym):
            return value
        if isinstance(value, list):
            if len(value) != self.length or not all(_strict_int(v) or isinstance(v, Sym) for v in value):
                raise self._expected(value, f"int or list of {self.length} ints")
            for item in value:
                self._check_range(item)
            items = tuple(value)
            return items[0] if self.length == 1 else items
        return Int(self.name, min=self.min, max=self.max)._coerce(value)

    def schema(self) -> dict[str, Any]:
        return {**super().schema(), "length": self.length}


@dataclass(frozen=True)
class Padding(Ints):
    """Like :class:`Ints`, or the strings ``"same"`` / ``"valid"`` that PyTorch convolutions accept."""

    kind = "padding"

    def _coerce(self, value: Any) -> Any:
        if isinstance(value, str):
            if value not in ("same", "valid"):
                raise ParamError(
                    "PARAM_RANGE", f'must be an int, a list of ints, "same" or "valid"; got {_type_name(value)}'
                )
            return value
        return super()._coerce(value)


@dataclass(frozen=True)
class IntList(Param):
    """A list of ints of any length (shapes, permutations), each within ``min``/``max``."""

    min_length: int = 0
    max_length: int = 8
    kind = "int_list"

    def _coerce(self, value: Any) -> Any:
        if not isinstance(value, list) or not all(_strict_int(v) for v in value):
            raise self._expected(value, "list of ints")
        if not self.min_length <= len(value) <= self.max_length:
            raise ParamError(
                "PARAM_RANGE", f"must have {self.min_length} to {self.max_length} entries, got {len(value)}"
            )
        for item in value:
            self._check_range(item)
        return tuple(value)

    def schema(self) -> dict[str, Any]:
        return {**super().schema(), "min_length": self.min_length, "max_length": self.max_length}


@dataclass(frozen=True)
class Text(Param):
    """One line of text (what an imported placeholder stands for), at most ``max_length`` characters."""

    max_length: int = 500
    kind = "text"

    def _coerce(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise self._expected(value, "text")
        if len(value) > self.max_length:
            raise ParamError("PARAM_RANGE", f"must be at most {self.max_length} characters, got {len(value)}")
        if any(ord(c) < 32 for c in value):
            raise ParamError("PARAM_RANGE", "must be one line without control characters")
        return value

    def schema(self) -> dict[str, Any]:
        return {**super().schema(), "max_length": self.max_length}


@dataclass(frozen=True)
class ClassPath(Param):
    """A class to import, ``package.module.ClassName``: checked as text only, never imported here."""

    kind = "class_path"

    def coerce(self, value: Any, symbols: frozenset[str] | None = None) -> Any:
        return self._coerce(value)  # a path is no block-parameter expression, even inside a block

    def _coerce(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise self._expected(value, "a class path such as package.module.ClassName")
        problem = dotted_name_problem(value)
        if problem:
            raise ParamError("PARAM_TYPE", problem)
        if "." not in value:
            raise ParamError("PARAM_TYPE", f"{_type_name(value)} names no module: write package.module.ClassName")
        return value


@dataclass(frozen=True)
class Kwargs(Param):
    """Keyword arguments as a JSON object: identifiers mapped to ints, floats, bools, strings or lists of those."""

    max_keys: int = 32
    max_items: int = 64  # entries of one list
    max_text: int = 200  # characters of one string
    kind = "kwargs"

    def _coerce(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise self._expected(value, "a JSON object of keyword arguments")
        if len(value) > self.max_keys:
            raise ParamError("PARAM_RANGE", f"has {len(value)} keyword arguments; at most {self.max_keys}")
        for key, item in value.items():
            if not (isinstance(key, str) and key.isascii() and key.isidentifier()) or keyword.iskeyword(key):
                raise ParamError(
                    "PARAM_TYPE", f"key {_type_name(key)} is not a keyword argument name (an identifier, not a keyword)"
                )
            if isinstance(item, list):
                if len(item) > self.max_items:
                    raise ParamError("PARAM_RANGE", f"`{key}` has {len(item)} entries; at most {self.max_items}")
                for entry in item:
                    self._check_scalar(key, entry)
            else:
                self._check_scalar(key, item)
        return dict(value)

    def _check_scalar(self, key: str, value: Any) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            raise ParamError("PARAM_RANGE", f"`{key}` must be a finite number, got {value!r}")
        if isinstance(value, str) and len(value) > self.max_text:
            raise ParamError("PARAM_RANGE", f"`{key}` has {len(value)} characters; at most {self.max_text}")
        if isinstance(value, str) and not value.isprintable():
            raise ParamError("PARAM_RANGE", f"`{key}` must be printable text on one line")
        if _strict_int(value) and abs(value) >= 2**63:
            raise ParamError("PARAM_RANGE", f"`{key}` must be an int below 2**63 in size")
        if not isinstance(value, (bool, int, float, str)):
            raise ParamError(
                "PARAM_TYPE", f"`{key}` must be an int, float, bool, string or a list of those, got {_type_name(value)}"
            )

    def schema(self) -> dict[str, Any]:
        return {**super().schema(), "max_keys": self.max_keys}


def as_tuple(value: Any, length: int) -> tuple[Any, ...]:
    """Expand an :class:`Ints` value to a tuple of ``length`` entries."""
    return tuple(value) if isinstance(value, tuple) else (value,) * length
