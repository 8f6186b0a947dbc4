"""Class names made from graph names: what the user wrote where it is a usable identifier."""

from __future__ import annotations

import builtins
import keyword

import pytest

import codegen
from codegen.naming import class_name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ResNeXt50_32x4d", "ResNeXt50_32x4d"),  # torchvision's spelling stays as written
        ("Wide_ResNet50_2", "Wide_ResNet50_2"),
        ("resnext50_32x4d", "Resnext50_32x4d"),  # digits on both sides of a break keep the underscore
        ("resnet 50", "Resnet50"),
        ("image_and_tabular", "ImageAndTabular"),
        ("tiny-net", "TinyNet"),
        ("Ünit", "Unit"),
        ("123", "Model123"),
        ("None", "NoneModel"),
        ("ValueError", "ValueErrorModel"),
        ("", "Model"),
    ],
)
def test_class_names_keep_what_the_user_wrote_where_python_allows(text: str, expected: str) -> None:
    name = class_name(text)
    assert name == expected
    assert name.isidentifier() and not keyword.iskeyword(name) and not hasattr(builtins, name)
    assert class_name(text) == name


def test_a_graph_named_like_torchvision_gives_that_class(node) -> None:
    document = {
        "version": "0.2",
        "metadata": {"name": "ResNeXt50_32x4d"},
        "nodes": [node("inp", "Input", shape=[4]), node("fc", "Linear", out_features=2)],
        "edges": [["inp", "fc"]],
        "inputs": ["inp"],
        "outputs": ["fc"],
    }
    source = "".join(codegen.generate(document).values())
    assert "class ResNeXt50_32x4d(nn.Module):" in source


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("My net!", "my_net"),
        ("Café net", "cafe_net"),
        ("123abc", "model_123abc"),
        ("json", "json_model"),
        ("", "model"),
        ("Ünïcode name", "unicode_name"),
        ("class", "class_model"),
        ("torch", "torch_model"),
        ("__x__", "x"),
        ("a" * 70, "a" * 58),
        ("VGG-16 (brief)", "vgg_16_brief"),
        ("ﬁle", "file"),
        ("None", "none"),
        ("日本", "model"),
    ],
)
def test_one_rule_names_every_package_and_download(title: str, expected: str) -> None:
    assert codegen.package_name(title) == expected
    assert codegen.package_name_problem(expected) is None
    stem = codegen.download_name(title, "py", 12).removesuffix(".py")
    assert stem == f"{expected}_v12" and stem.isidentifier() and not keyword.iskeyword(stem)
    assert codegen.download_name(title, "json") == f"{expected}.json"


@pytest.mark.parametrize(
    ("name", "problem"),
    [("9lives", "not starting with a digit"), ("class", "keyword"), ("json", "shadow"), ("a-b", "ASCII letters")],
)
def test_a_package_name_the_user_chose_is_checked_by_the_same_rule(name: str, problem: str) -> None:
    assert problem in codegen.package_name_problem(name)
