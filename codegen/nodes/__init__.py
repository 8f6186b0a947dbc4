"""The built-in node types. Importing this package registers every declaration in ``NODE_SPECS``."""

from . import (  # noqa: F401
    activation,
    arithmetic,
    attention,
    conv,
    custom,
    io,
    learned,
    linear,
    merge,
    norm,
    placeholder,
    pool,
    recipe,
    recurrent,
    regularization,
    reshape,
    sampling,
)
