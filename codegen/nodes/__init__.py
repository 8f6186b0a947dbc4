"""The built-in node types. Importing this package registers every declaration in ``NODE_SPECS``."""

from . import activation, arithmetic, attention, conv, io, linear, merge, norm, pool, recurrent, reshape, sampling  # noqa: F401
