"""A custom module NOT on the tests' allow-list. Importing it has side effects the tests look for: it records
itself in ``custom_import_marker.IMPORTED`` and writes the file named by ``$CUSTOM_HOSTILE_MARKER``."""

import os
from pathlib import Path

import custom_import_marker
from torch import nn

custom_import_marker.IMPORTED.append(__name__)
if os.environ.get("CUSTOM_HOSTILE_MARKER"):
    Path(os.environ["CUSTOM_HOSTILE_MARKER"]).write_text("imported")


class Exfiltrate(nn.Identity):
    """Would run anything at import time; here it only leaves the marks above."""
