"""Tensor dimensions: concrete ints, unknown (``None``) or symbolic (:class:`Sym`).

Symbolic dimensions exist for one reason: a composite block is rendered once as a class whose
constructor takes parameters, so the size of an inner layer's input is an *expression* of those
parameters (``channels // reduction``), not a number. Shape rules use the helpers below, which
propagate ``None`` and build expressions, so the same rule serves a concrete graph and a class body.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

# Operator precedence for parenthesising rendered expressions (higher binds tighter).
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "//": 2, "atom": 3}


@dataclass(frozen=True)
class Sym:
    """A symbolic integer: Python source text over constructor parameter names."""

    text: str
    prec: int = _PRECEDENCE["atom"]

    def __str__(self) -> str:
        return self.text

    def _binop(self, op: str, other: object, reflected: bool = False) -> Sym:
        left, right = (other, self) if reflected else (self, other)
        prec = _PRECEDENCE[op]
        return Sym(f"{_wrap(left, prec, False)} {op} {_wrap(right, prec, True)}", prec)

    def __add__(self, other: DimLike) -> Sym:
        return self._binop("+", other)

    def __radd__(self, other: DimLike) -> Sym:
        return self._binop("+", other, reflected=True)

    def __sub__(self, other: DimLike) -> Sym:
        return self._binop("-", other)

    def __rsub__(self, other: DimLike) -> Sym:
        return self._binop("-", other, reflected=True)

    def __mul__(self, other: DimLike) -> Sym:
        return self._binop("*", other)

    def __rmul__(self, other: DimLike) -> Sym:
        return self._binop("*", other, reflected=True)

    def __floordiv__(self, other: DimLike) -> Sym:
        return self._binop("//", other)

    def __rfloordiv__(self, other: DimLike) -> Sym:
        return self._binop("//", other, reflected=True)


def _wrap(value: object, prec: int, right_side: bool) -> str:
    if isinstance(value, Sym):
        # Right operands of - and // need parentheses at equal precedence: a - (b - c).
        if value.prec < prec or (right_side and value.prec == prec and prec != _PRECEDENCE["atom"]):
            return f"({value.text})"
        return value.text
    return repr(value)


Dim = int | Sym | None
DimLike = int | Sym

_ALLOWED_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//"}

# Parsing recurses once per operator (and Python's own parser and compiler do too): a cap keeps a
# long `$c+$c+...` a diagnostic instead of a RecursionError, far above what a block needs.
MAX_EXPRESSION_OPERATORS = 100
MAX_EXPRESSION_LENGTH = 2000
_OPERATOR = re.compile(r"//|[-+*/]")


class ExpressionTooLong(ValueError):
    """A parameter expression over :data:`MAX_EXPRESSION_OPERATORS` or :data:`MAX_EXPRESSION_LENGTH`."""

    code = "EXPRESSION_TOO_LONG"


def parse_sym(text: str, names: frozenset[str]) -> Sym | int:
    """Parse a parameter reference such as ``"$channels // $reduction"`` into a :class:`Sym`.

    Only integer literals, the declared parameter names and ``+ - * //`` are accepted; anything else
    raises ``ValueError`` with a sentence saying what was wrong (:class:`ExpressionTooLong` for one
    over the caps).
    """
    operators = len(_OPERATOR.findall(text))
    if len(text) > MAX_EXPRESSION_LENGTH or operators > MAX_EXPRESSION_OPERATORS:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise ExpressionTooLong(
            f"{shown!r} is too long ({operators:,} operators, {len(text):,} characters): parameter expressions "
            f"may have at most {MAX_EXPRESSION_OPERATORS} operators and {MAX_EXPRESSION_LENGTH:,} characters"
        )
    source = text.strip().replace("$", "")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        raise ValueError(f"{text!r} is not a parameter expression") from None
    return _sym_from_ast(tree.body, text, names)


def _sym_from_ast(node: ast.AST, text: str, names: frozenset[str]) -> Sym | int:
    if isinstance(node, ast.Name):
        if node.id not in names:
            known = ", ".join(sorted(names)) or "none"
            raise ValueError(f"{text!r} refers to unknown parameter {node.id!r} (declared: {known})")
        return Sym(node.id)
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _ALLOWED_BINOPS:
        left = _sym_from_ast(node.left, text, names)
        right = _sym_from_ast(node.right, text, names)
        op = _ALLOWED_BINOPS[type(node.op)]
        if isinstance(left, int) and isinstance(right, int):
            raise ValueError(f"{text!r}: write the constant instead of an expression of constants")
        return {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "//": lambda a, b: a // b}[
            op
        ](left, right)
    raise ValueError(f"{text!r} may only use parameter names, integers and + - * //")


def is_known(*values: object) -> bool:
    """True when every value is a concrete int (not unknown, not symbolic)."""
    return all(type(v) is int for v in values)


def add(a: Dim, b: Dim) -> Dim:
    return None if a is None or b is None else a + b


def mul(a: Dim, b: Dim) -> Dim:
    return None if a is None or b is None else a * b


def floordiv(a: Dim, b: Dim) -> Dim:
    return None if a is None or b is None else a // b


def product(values: tuple[Dim, ...]) -> Dim:
    total: Dim = 1
    for value in values:
        total = mul(total, value)
    return total


def same(a: Dim, b: Dim) -> bool | None:
    """Whether two dims are equal: ``None`` when that cannot be decided (one side unknown)."""
    if a is None or b is None:
        return None
    if isinstance(a, Sym) or isinstance(b, Sym):
        return a == b if isinstance(a, Sym) and isinstance(b, Sym) and a == b else None
    return a == b
