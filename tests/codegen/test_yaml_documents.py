"""Graph documents in YAML: the same values as JSON, the same PARSE errors, and hostile YAML refused quickly."""

from __future__ import annotations

import json
import time

import pytest

import codegen
from codegen.document import JSON, YAML, dump_yaml, load_document, syntax_of
from tests.support.yaml_graphs import GRAPH, GRAPH_YAML


def parse_error(text: str | bytes, syntax: str | None = None) -> str:
    with pytest.raises(codegen.GraphError) as caught:
        load_document(text, syntax)
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.code == "PARSE"
    return diagnostic.message


def test_a_yaml_document_is_the_json_document():
    assert load_document(GRAPH_YAML) == GRAPH == load_document(json.dumps(GRAPH))
    assert load_document(GRAPH_YAML.encode(), YAML) == GRAPH


def test_yaml_graphs_validate_and_generate_as_json_ones():
    result = codegen.validate(GRAPH_YAML, input_shapes={"inp": [8]})
    assert result.ok and result.params_total == 36
    assert codegen.generate(GRAPH_YAML, name="Tiny") == codegen.generate(GRAPH, name="Tiny")


def test_yaml_export_round_trips_in_the_documents_key_order():
    text = dump_yaml(GRAPH)
    assert text.startswith("version: '0.2'\nmetadata:\n  name: tiny\nnodes:\n")
    assert load_document(text) == GRAPH


def test_flow_yaml_is_read_as_yaml_only_when_the_caller_says_so():
    assert load_document("{version: '0.2'}", YAML) == {"version": "0.2"}
    assert parse_error("{version: '0.2'}") == (
        "invalid JSON at line 1, column 2: Expecting property name enclosed in double quotes"
    )


@pytest.mark.parametrize(
    ("name", "content_type", "syntax"),
    [
        ("graph.yaml", None, YAML),
        ("GRAPH.YML", None, YAML),
        ("graph.json", None, None),
        (None, "application/yaml; charset=utf-8", YAML),
        (None, "text/yaml", YAML),
        (None, "application/json", None),
        (None, None, None),
    ],
)
def test_yaml_is_named_by_suffix_or_media_type(name, content_type, syntax):
    assert syntax_of(name, content_type) == syntax


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nodes:\n  - id: a\n   type: X\n", "invalid YAML at line 3, column 4"),
        ("nodes: [a, b\n", "invalid YAML at line 2, column 1"),
        ("a: 1\n---\nb: 2\n", "invalid YAML at line 2, column 1: but found another document"),
        ("nodes: []\nnodes: []\n", "invalid YAML at line 2, column 1: the key 'nodes' is written twice"),
        ("metadata:\n  name: a\n  name: b\n", "invalid YAML at line 3, column 3: the key 'name' is written twice"),
        (
            "x: !!python/object/apply:os.system [echo hi]\n",
            "invalid YAML at line 1, column 4: could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/object/apply:os.system'",
        ),
        ("x: !!python/name:os.system\n", "could not determine a constructor"),
        ("metadata: {on: 1}\n", "metadata has the key True, which is not a string; quote it"),
        ("nodes:\n  - {1: a}\n", "nodes[0] has the key 1, which is not a string"),
        ("metadata: {created: 2024-05-01}\n", "metadata.created is a date, which JSON cannot hold; quote it"),
        ("metadata: {at: 2024-05-01 10:00:00}\n", "metadata.at is a date and time"),
        ("metadata: {tags: !!set {a, b}}\n", "metadata.tags is a set"),
        ("metadata: {blob: !!binary aGVsbG8=}\n", "metadata.blob is binary data"),
        ("metadata: !!omap [a: 1]\n", "metadata[0] is a YAML tuple"),
        ("&a [*a]\n", "[0] contains itself through a YAML alias"),
        ("x: " + "[" * 2000 + "]" * 2000 + "\n", "exceeded maximum nesting depth"),
        ("x: " + "[" * 990 + "]" * 990 + "\n", "the document is nested too deeply"),
        (b"nodes: \xff\n", "the document is not UTF-8 text"),
        ("metadata: {n: 0x" + "f" * 5000 + "}\n", "metadata.n is a number too large to write as JSON"),
        ("metadata: {n: " + "9" * 5000 + "}\n", "invalid YAML: Exceeds the limit (4300 digits)"),
    ],
    ids=lambda value: value[:24] if isinstance(value, str) else None,
)
def test_bad_yaml_is_one_parse_sentence(text, message):
    assert message in parse_error(text)


def test_python_tags_never_run(tmp_path):
    marker = tmp_path / "ran"
    parse_error(f"x: !!python/object/apply:pathlib.Path.touch [!!python/object/apply:pathlib.Path ['{marker}']]\n")
    assert not marker.exists()


def test_a_billion_laughs_is_refused_quickly():
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    started = time.perf_counter()
    message = parse_error("\n".join(lines) + "\n")
    assert time.perf_counter() - started < 1
    assert message == "the YAML aliases expand the document to over 10,000 values; write the repeated parts out"


def test_a_few_aliases_of_a_shared_part_are_fine():
    text = "defaults: &d {out_features: 4, bias: true}\nnodes:\n" + "".join(
        f"  - {{id: n{i}, type: Linear, params: *d}}\n" for i in range(50)
    )
    document = load_document(text)
    assert document["nodes"][49]["params"] == {"out_features": 4, "bias": True}


def test_json_stays_json():
    assert parse_error('{"nodes": [') == "invalid JSON at line 1, column 12: Expecting value"
    assert load_document("[1, 2]", JSON) == [1, 2]
    with pytest.raises(codegen.GraphError):
        codegen.load_graph("just some words")  # YAML: a string, not a graph
