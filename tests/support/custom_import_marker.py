"""Records imports of ``custom_hostile``: the tests prove a refused custom module is never imported."""

IMPORTED: list[str] = []
