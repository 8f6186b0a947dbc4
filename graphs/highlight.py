"""A tiny Python syntax highlighter for code previews: the standard library's tokenizer, no dependency.

Generated code is always valid Python, so ``tokenize`` reads it exactly; anything it cannot read is
shown escaped and uncoloured.
"""

from __future__ import annotations

import builtins
import io
import keyword
import token
import tokenize

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_BUILTINS = frozenset(dir(builtins))
_CONSTANTS = frozenset({"True", "False", "None"})
_FSTRING_TYPES = frozenset(
    getattr(token, name) for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END") if hasattr(token, name)
)


def _css_class(tok: tokenize.TokenInfo, previous: str) -> str | None:
    if tok.type == token.COMMENT:
        return "c"
    if tok.type == token.STRING or tok.type in _FSTRING_TYPES:
        return "s"
    if tok.type == token.NUMBER:
        return "n"
    if tok.type == token.NAME:
        if tok.string in _CONSTANTS:
            return "n"
        if keyword.iskeyword(tok.string):
            return "k"
        if previous in {"def", "class"}:
            return "f"
        if tok.string == "self":
            return "b"
        if tok.string in _BUILTINS:
            return "b"
    if tok.type == token.OP and tok.string == "@":
        return "d"
    return None


def highlight_python(source: str) -> SafeString:
    """HTML for ``source`` with ``<span class="tok-…">`` around keywords, strings, numbers, comments, names."""
    lines = source.splitlines(keepends=True)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return mark_safe(escape(source))
    # Offsets of each line's start in ``source``, to turn (row, col) positions into string indices.
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    out: list[str] = []
    cursor = 0
    previous = ""
    for tok in tokens:
        if tok.type in (token.ENDMARKER, token.INDENT, token.DEDENT):
            continue
        begin = starts[tok.start[0] - 1] + tok.start[1] if tok.start[0] <= len(lines) else len(source)
        end = starts[tok.end[0] - 1] + tok.end[1] if tok.end[0] <= len(lines) else len(source)
        if begin < cursor:
            continue
        out.append(escape(source[cursor:begin]))
        text = escape(source[begin:end])
        css = _css_class(tok, previous)
        out.append(f'<span class="tok-{css}">{text}</span>' if css else text)
        cursor = end
        if tok.type not in (token.NL, token.NEWLINE, token.COMMENT):
            previous = tok.string
    out.append(escape(source[cursor:]))
    return mark_safe("".join(out))
