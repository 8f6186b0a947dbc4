"""``python -m tests.support.reference_graphs``: rewrite the template files that these graphs are shipped as."""

import json

from codegen.templates import TEMPLATES_DIR

from . import all_models


def template_text(document: dict) -> str:
    """A template file: one node or edge per line, so that a diff of two versions reads well."""
    lines = ["{"]
    parts = []
    for key, value in document.items():
        if key in ("nodes", "edges") and value:
            items = ",\n".join(f"    {json.dumps(item, ensure_ascii=False)}" for item in value)
            parts.append(f'  "{key}": [\n{items}\n  ]')
        else:
            parts.append(f'  "{key}": {json.dumps(value, ensure_ascii=False)}')
    lines.append(",\n".join(parts))
    lines.append("}")
    return "\n".join(lines) + "\n"


def with_positions_of(document: dict, shipped: dict) -> dict:
    """The document with each node's ``ui`` taken from the shipped template where that has the node.

    Positions are the canvas's own Layout, which the frontend stores in the templates
    (``UPDATE_TEMPLATES=1 npx vitest run src/lib/templates.test.ts``); the builder's are one column.
    """
    ui = {node["id"]: node["ui"] for node in shipped["nodes"] if "ui" in node}
    for node in document["nodes"]:
        if node["id"] in ui:
            node["ui"] = ui[node["id"]]
    return document


def main() -> None:
    for name, model in all_models().items():
        if model.template:
            path = TEMPLATES_DIR / f"{model.template}.json"
            document = model.graph()
            if path.exists():
                document = with_positions_of(document, json.loads(path.read_text(encoding="utf-8")))
            path.write_text(template_text(document), encoding="utf-8")
            print(f"wrote {path.name} ({name})")


if __name__ == "__main__":
    main()
