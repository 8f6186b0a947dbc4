"""A tiny expression language for what a node contributes to a module.

Each node type describes its submodule constructor and its forward computation once, in these terms.
:mod:`codegen.render` prints them as Python source; :mod:`codegen.interpreter` evaluates them directly.
Both back ends therefore follow one description, and the equivalence tests check the printing,
naming and wiring that turn it into a file.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

from .dims import Sym


@dataclass(frozen=True)
class Ref:
    """A local variable in ``forward`` (or a constructor parameter inside a composite class)."""

    name: str


@dataclass(frozen=True)
class SelfAttr:
    """``self.<name>``: the node's registered submodule; a dotted module path (``features.0.1``) is read
    attribute by attribute, numbered segments as indices (``self.features[0][1]``), a numbered member of the
    module itself with ``getattr`` (``getattr(self, "0")``)."""

    name: str


@dataclass(frozen=True)
class Call:
    """``fn(*args, **kwargs)``; ``fn`` is a dotted name from :data:`NAMESPACES` or an expression."""

    fn: str | Expr
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Method:
    """``obj.name(*args, **kwargs)``."""

    obj: Any
    name: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Attr:
    """``obj.name``: an attribute of a value, such as a tensor's ``device`` or ``dtype``."""

    obj: Any
    name: str


@dataclass(frozen=True)
class Item:
    """``obj[index]``; slices are written as :class:`Slice`."""

    obj: Any
    index: Any


@dataclass(frozen=True)
class Slice:
    start: int | None = None
    stop: int | None = None


@dataclass(frozen=True)
class BinOp:
    op: str  # one of + - * / ==
    left: Any
    right: Any


@dataclass(frozen=True)
class ListOf:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Assign:
    """``a, b = value``; a target of ``"_"`` discards."""

    targets: tuple[str, ...]
    value: Any


@dataclass(frozen=True)
class Repeat:
    """``[item for var in range(count)]`` (or a generator, ``(item for var in range(count))``)."""

    item: Any
    var: str
    count: int
    generator: bool = False


@dataclass(frozen=True)
class Starred:
    """``*value`` among call arguments."""

    value: Any


@dataclass(frozen=True)
class Numbered:
    """``f"<prefix>{index}"``: the name of the ``index``-th of a run of named submodules."""

    prefix: str
    index: Any


Expr = Ref | SelfAttr | Call | Method | Attr | Item | BinOp | ListOf | Repeat | Starred | Numbered


def call(fn: str | Expr, *args: Any, **kwargs: Any) -> Call:
    """Build a :class:`Call`, dropping keyword arguments whose value is the sentinel ``DEFAULT``."""
    return Call(fn, tuple(args), tuple((k, v) for k, v in kwargs.items() if v is not DEFAULT))


def method(obj: Any, name: str, *args: Any, **kwargs: Any) -> Method:
    return Method(obj, name, tuple(args), tuple((k, v) for k, v in kwargs.items() if v is not DEFAULT))


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


# Keyword arguments equal to PyTorch's own default are left out of generated code, as a person would.
DEFAULT = _Default()


def kw_unless(value: Any, default: Any) -> Any:
    """``value``, or :data:`DEFAULT` (omitted) when it equals PyTorch's default."""
    return DEFAULT if value == default and type(value) is type(default) else value


# ---------------------------------------------------------------------------------------------
# Printing


def render_expr(expr: Any) -> str:
    """Python source for an expression or literal. Literals only ever come from checked values."""
    if isinstance(expr, Ref):
        return expr.name
    if isinstance(expr, SelfAttr):
        first, *rest = expr.name.split(".")
        # A numbered member of the module itself (an imported nn.Sequential's `0`) is no attribute name.
        head = f'getattr(self, "{first}")' if first.isdigit() else f"self.{first}"
        return head + "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in rest)
    if isinstance(expr, Repeat):
        opening, closing = "()" if expr.generator else "[]"
        return f"{opening}{render_expr(expr.item)} for {expr.var} in range({expr.count}){closing}"
    if isinstance(expr, Starred):
        return f"*{render_expr(expr.value)}"
    if isinstance(expr, Numbered):
        return f'f"{expr.prefix}{{{render_expr(expr.index)}}}"'
    if isinstance(expr, Sym):
        return expr.text
    if isinstance(expr, Call):
        fn = expr.fn if isinstance(expr.fn, str) else render_expr(expr.fn)
        if sole_generator(expr):  # `f(x for x in xs)`: the call's parentheses are the generator's
            return f"{fn}({render_expr(expr.args[0])[1:-1]})"
        return f"{fn}({_render_arguments(expr.args, expr.kwargs)})"
    if isinstance(expr, Method):
        return f"{_render_operand(expr.obj)}.{expr.name}({_render_arguments(expr.args, expr.kwargs)})"
    if isinstance(expr, Attr):
        return f"{_render_operand(expr.obj)}.{expr.name}"
    if isinstance(expr, Item):
        index = expr.index if isinstance(expr.index, tuple) else (expr.index,)
        return f"{_render_operand(expr.obj)}[{', '.join(_render_index(i) for i in index)}]"
    if isinstance(expr, BinOp):
        # Left-associative: `a + b + c` for (a + b) + c; parentheses only where precedence needs them.
        left = render_expr(expr.left)
        if isinstance(expr.left, BinOp) and _PRECEDENCE[expr.left.op] < _PRECEDENCE[expr.op]:
            left = f"({left})"
        right = render_expr(expr.right)
        if isinstance(expr.right, BinOp) and _PRECEDENCE[expr.right.op] <= _PRECEDENCE[expr.op]:
            right = f"({right})"
        if isinstance(expr.left, Sym) and expr.left.prec < 3:
            left = f"({left})"
        if isinstance(expr.right, Sym) and expr.right.prec < 3:
            right = f"({right})"
        return f"{left} {expr.op} {right}"
    if isinstance(expr, ListOf):
        return "[" + ", ".join(render_expr(i) for i in expr.items) + "]"
    if isinstance(expr, tuple):
        inner = ", ".join(render_expr(i) for i in expr)
        return f"({inner},)" if len(expr) == 1 else f"({inner})"
    if isinstance(expr, list):  # a literal list of checked values (Split's sections)
        return "[" + ", ".join(render_expr(i) for i in expr) + "]"
    if isinstance(expr, float):
        return repr(expr)
    if isinstance(expr, str):
        # Double quotes as ruff format prefers, but only by swapping the delimiters of a repr whose
        # content holds no quote at all: the text itself is never edited (it may be user text).
        text = repr(expr)
        return f'"{text[1:-1]}"' if text[0] == "'" and "'" not in expr and '"' not in expr else text
    if expr is None or isinstance(expr, (bool, int)):
        return repr(expr)
    raise TypeError(f"cannot render {expr!r}")


def sole_generator(expr: Call) -> bool:
    return len(expr.args) == 1 and not expr.kwargs and isinstance(expr.args[0], Repeat) and expr.args[0].generator


_PRECEDENCE = {"==": 0, "+": 1, "-": 1, "*": 2, "/": 2}


def _render_operand(expr: Any) -> str:
    text = render_expr(expr)
    return f"({text})" if isinstance(expr, BinOp) or (isinstance(expr, Sym) and expr.prec < 3) else text


def _render_index(index: Any) -> str:
    if isinstance(index, Slice):
        return f"{'' if index.start is None else index.start}:{'' if index.stop is None else index.stop}"
    return render_expr(index)


def _render_arguments(args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> str:
    parts = [render_expr(a) for a in args] + [f"{k}={render_expr(v)}" for k, v in kwargs]
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------------
# Evaluation


_OPERATORS = {"==": operator.eq, "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


class Evaluator:
    """Evaluates expressions against local variables, a module's submodules and fixed namespaces."""

    def __init__(self, namespaces: dict[str, Any], module: Any = None, local: dict[str, Any] | None = None):
        self.namespaces = namespaces
        self.module = module
        self.local = local if local is not None else {}

    def run(self, stmt: Assign) -> None:
        value = self.eval(stmt.value)
        if len(stmt.targets) == 1:
            self.local[stmt.targets[0]] = value
            return
        values = tuple(value)
        if len(values) != len(stmt.targets):
            raise ValueError(f"expected {len(stmt.targets)} values, got {len(values)}")
        for target, item in zip(stmt.targets, values):
            if target != "_":
                self.local[target] = item

    def eval(self, expr: Any) -> Any:
        if isinstance(expr, Ref):
            return self.local[expr.name]
        if isinstance(expr, SelfAttr):
            value = self.module
            for part in expr.name.split("."):
                value = getattr(value, part)
            return value
        if isinstance(expr, Call):
            fn = self.resolve(expr.fn) if isinstance(expr.fn, str) else self.eval(expr.fn)
            return fn(*(self.eval(a) for a in expr.args), **{k: self.eval(v) for k, v in expr.kwargs})
        if isinstance(expr, Method):
            fn = getattr(self.eval(expr.obj), expr.name)
            return fn(*(self.eval(a) for a in expr.args), **{k: self.eval(v) for k, v in expr.kwargs})
        if isinstance(expr, Attr):
            return getattr(self.eval(expr.obj), expr.name)
        if isinstance(expr, Item):
            index = expr.index if isinstance(expr.index, tuple) else (expr.index,)
            key = tuple(slice(i.start, i.stop) if isinstance(i, Slice) else self.eval(i) for i in index)
            return self.eval(expr.obj)[key if len(key) > 1 else key[0]]
        if isinstance(expr, BinOp):
            left, right = self.eval(expr.left), self.eval(expr.right)
            return _OPERATORS[expr.op](left, right)
        if isinstance(expr, ListOf):
            return [self.eval(i) for i in expr.items]
        if isinstance(expr, (Repeat, Starred, Numbered)):
            raise TypeError("containers are built by the interpreter itself, not evaluated")
        if isinstance(expr, tuple):
            return tuple(self.eval(i) for i in expr)
        if isinstance(expr, list):
            return [self.eval(i) for i in expr]
        if isinstance(expr, Sym):
            raise TypeError(f"symbolic value {expr.text} reached evaluation")
        return expr

    def resolve(self, dotted: str) -> Any:
        head, _, rest = dotted.partition(".")
        value = self.namespaces[head]
        for part in rest.split(".") if rest else ():
            value = getattr(value, part)
        return value
