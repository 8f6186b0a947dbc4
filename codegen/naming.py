"""Every name TorchCanvas generates: identifiers in the code (after torch.fx's ``_Namespace``), and the
package and file names of every download.

Node ids are arbitrary user text. Every name that reaches generated source goes through a
:class:`Namespace`: ASCII, a valid identifier, never a keyword, builtin or ``nn.Module`` attribute,
de-duplicated with ``_1``, ``_2``, and the same key always gets the same name.

A graph's display name becomes its package through :func:`package_name`, and every file a version is
downloaded as is named by :func:`download_name`; the pages, the API and the canvas all ask for these (the
canvas gets them from the server), so "Café net" is ``cafe_net`` everywhere.
"""

from __future__ import annotations

import builtins
import keyword
import re
import sys
import unicodedata

import torch.nn as nn

_RESERVED = frozenset(
    set(keyword.kwlist)
    | set(keyword.softkwlist)
    | set(dir(builtins))
    | set(dir(nn.Module))
    | set(vars(nn.Module()))  # instance attributes too: a submodule named `training` breaks .eval()
    | {"self", "torch", "nn", "F", "x", "super"}
)
_INVALID = re.compile(r"[^0-9a-zA-Z_]+")
# A generated package with one of these names would shadow the module when imported next to it.
SHADOWED_MODULES = frozenset(sys.stdlib_module_names) | {"torch", "torchvision", "torchaudio", "numpy"}
_PACKAGE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_PACKAGE_NAME_LENGTH = 58  # room for "_model" within the 64 characters a package name may have


def package_name(title: str) -> str:
    """The Python package (and module) name of a graph's exported code, from its display name:
    ``"Café net!"`` → ``cafe_net``; never a keyword or a module it would shadow."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"[^A-Za-z0-9]+", "_", ascii_title).strip("_").lower()[:_PACKAGE_NAME_LENGTH] or "model"
    if name[0].isdigit():
        name = f"model_{name}"
    if keyword.iskeyword(name) or name in SHADOWED_MODULES:
        name = f"{name}_model"
    return name


def package_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a generated package (a sentence), or None when it can."""
    if not _PACKAGE_NAME.fullmatch(name):
        return "Use 1 to 64 ASCII letters, digits and underscores, not starting with a digit."
    if keyword.iskeyword(name):
        return f"{name!r} is a Python keyword."
    if name in SHADOWED_MODULES:
        return f"{name!r} would shadow the module of the same name; choose another."
    return None


def download_name(title: str, extension: str, version: int | None = None) -> str:
    """The file name of a download: ``cafe_net_v3.zip`` for version 3, ``cafe_net.json`` for a drawing.

    The stem is itself an importable module name, so a downloaded ``.py`` file can be imported as it is.
    """
    stem = package_name(title) if version is None else f"{package_name(title)}_v{version}"
    return f"{stem}.{extension}"


def sanitize(text: str, fallback: str = "node") -> str:
    """A lower_snake ASCII identifier close to ``text`` (not yet checked for clashes)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    ascii_text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", ascii_text)
    name = _INVALID.sub("_", ascii_text).strip("_").lower()
    name = re.sub(r"_+", "_", name)[:48].rstrip("_")
    if not name:
        name = fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    return name


def class_name(text: str, fallback: str = "Model") -> str:
    """A CamelCase class name; an identifier that starts with a capital is kept as it is.

    So ``ResNeXt50_32x4d`` stays itself. Other text is split into words, each capitalised and joined;
    an underscore stays between two digits (``resnext50 32x4d`` gives ``Resnext50_32x4d``, not ``5032``).
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    if ascii_text.isidentifier() and ascii_text[:1].isupper() and not keyword.iskeyword(ascii_text):
        name = ascii_text[:64]
    else:
        name = ""
        for word in _INVALID.sub(" ", ascii_text.replace("_", " ")).split():
            joint = "_" if name[-1:].isdigit() and word[0].isdigit() else ""
            name += joint + word[:1].upper() + word[1:]
        name = name[:64]
    if not name or not name[0].isalpha():
        name = fallback + name
    if name in _RESERVED or keyword.iskeyword(name) or hasattr(builtins, name):
        name += "Model"
    return name


class Namespace:
    """Hands out unique, safe identifiers; asking again for the same key returns the same name."""

    def __init__(self, reserved: frozenset[str] | set[str] = frozenset()):
        self._used: set[str] = set(_RESERVED) | set(reserved)
        self._names: dict[object, str] = {}

    def name(self, key: object, hint: str, fallback: str = "node") -> str:
        if key in self._names:
            return self._names[key]
        name = self.fresh(sanitize(hint, fallback))
        self._names[key] = name
        return name

    def fresh(self, base: str) -> str:
        """A new name from an already-sanitised base, never handed out before."""
        name = base
        counter = 1
        while name in self._used:
            name = f"{base}_{counter}"
            counter += 1
        self._used.add(name)
        return name

    def claim(self, name: str) -> None:
        self._used.add(name)
