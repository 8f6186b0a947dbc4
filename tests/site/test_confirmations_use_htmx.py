"""``hx-confirm`` only guards requests that htmx sends: a plain form that carries it posts without asking.
Every form in the templates that asks first must also post through htmx (its view answers with HX-Redirect,
see ``torchcanvas_site.htmx.go``)."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
FORM_TAG = re.compile(r"<form\b[^>]*>", re.S)


def test_every_form_that_asks_first_posts_through_htmx():
    asking = {}
    for path in TEMPLATES.rglob("*.html"):
        for tag in FORM_TAG.findall(path.read_text(encoding="utf-8")):
            if "hx-confirm" in tag:
                asking.setdefault(str(path.relative_to(TEMPLATES)), []).append(tag)
    assert len(asking) >= 5, asking  # the delete, leave, remove, cancel and token forms were found
    unguarded = {name: tags for name, tags in asking.items() if any("hx-post" not in tag for tag in tags)}
    assert not unguarded, unguarded
