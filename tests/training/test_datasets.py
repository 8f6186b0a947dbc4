"""Parsing, validating and loading datasets (training/datasets.py), hostile uploads included; no database."""

import io
import time

import numpy as np
import pytest
import torch
from hostile_datasets import bomb, csv_with_columns, declaring, image_zip, npz, png, zip_of

from training import datasets
from training.datasets import DatasetError, Limits, input_shape_problem, load_arrays, parse_upload, split


def facts_of(kind, data: bytes, limits=Limits(), **options):
    return parse_upload(kind, io.BytesIO(data), limits, **options)


def refused(kind, data: bytes, limits=Limits(), **options) -> str:
    with pytest.raises(DatasetError) as caught:
        facts_of(kind, data, limits, **options)
    return str(caught.value)


# --- CSV ------------------------------------------------------------------------------------------------


def test_a_csv_with_text_labels_is_a_classification_with_its_class_balance():
    data = b"a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n"
    facts = facts_of("csv", data)
    assert facts["samples"] == 3 and facts["input_shape"] == [2] and facts["task"] == "classification"
    assert facts["classes"] == [{"name": "cat", "count": 2}, {"name": "dog", "count": 1}]
    assert facts["columns"] == ["a", "b", "label"] and facts["size_bytes"] == len(data)
    x, y = load_arrays(io.BytesIO(data), facts)
    assert x.dtype == np.float32 and x.tolist() == [[1, 2], [3, 4], [5, 6]]
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 0]


def test_a_csv_with_float_targets_is_a_regression_and_columns_may_be_chosen():
    data = b"a,b,c,price\n1,2,9,0.5\n3,4,9,1.25\n"
    facts = facts_of("csv", data, input_columns=["b", "a"], target_column="price")
    assert facts["task"] == "regression" and facts["input_columns"] == ["b", "a"] and "classes" not in facts
    x, y = load_arrays(io.BytesIO(data), facts)
    assert x.tolist() == [[2, 1], [4, 3]] and y.dtype == np.float32 and y.tolist() == [0.5, 1.25]


def test_integer_labels_written_as_floats_are_one_class():
    facts = facts_of("csv", b"a,y\n1,1\n2,1.0\n3,0\n")
    assert facts["classes"] == [{"name": "0", "count": 1}, {"name": "1", "count": 2}]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "The file is empty."),
        (b"a,b,y\n1,2,0\n", "1 data row(s)"),
        (b"a,b,y\n1,2,0\n1,2\n", "Row 3 has 2 values; the header has 3 columns."),
        (b"a,b,y\n1,2,0\n1,x,1\n", "Row 3, column 'b': 'x' is not a number."),
        (b"a,b,y\n1,nan,0\n1,2,1\n", "Row 2, column 'b': 'nan' is not a finite number."),
        (b"a,b,y\n1,2,0\ninf,2,1\n", "Row 3, column 'a': 'inf' is not a finite number."),
        (b"a,b,y\n1,2,0\n3,4,0\n", "single class"),
        (b"a,a,y\n1,2,0\n3,4,1\n", "names the column 'a' twice"),
        (b"\xff\xfe,a\n", "not UTF-8"),
        (b"a,b,y\n1,2,0\n1,1e40,1\n", "Row 3, column 'b': '1e40' is too large."),
    ],
)
def test_bad_csvs_are_refused_with_the_row_and_column(data, message):
    assert message in refused("csv", data)


def test_an_unknown_column_and_too_many_classes_are_refused():
    assert "no column 'z'" in refused("csv", b"a,y\n1,0\n2,1\n", target_column="z")
    many = b"a,y\n" + b"".join(b"%d,c%d\n" % (i, i) for i in range(12))
    assert "12 classes; the limit is 10" in refused("csv", many, Limits(max_classes=10))


def test_a_csv_of_a_million_columns_is_refused_quickly():
    data = csv_with_columns(10**6)
    started = time.perf_counter()
    message = refused("csv", data)
    assert message == "The CSV header has 1000000 columns; the limit is 10000."
    assert time.perf_counter() - started < 2


def test_an_upload_over_the_cap_is_refused():
    assert "larger than the limit of 1024 bytes" in refused(
        "csv", b"a,y\n" + b"1,0\n" * 500, Limits(max_upload_bytes=1024)
    )


# --- NPZ ------------------------------------------------------------------------------------------------


def test_npz_arrays_with_integer_targets():
    x = np.arange(24, dtype=np.float64).reshape(4, 2, 3)
    data = npz(x=x, y=np.array([0, 1, 1, 2]))
    facts = facts_of("arrays", data)
    assert facts["input_shape"] == [2, 3] and facts["task"] == "classification" and len(facts["classes"]) == 3
    lx, ly = load_arrays(io.BytesIO(data), facts)
    assert lx.dtype == np.float32 and lx.shape == (4, 2, 3) and ly.tolist() == [0, 1, 1, 2]


def test_npz_inputs_and_targets_regression():
    facts = facts_of("arrays", npz(inputs=np.ones((3, 4), np.float32), targets=np.array([0.5, 1.5, 2.0])))
    assert facts["task"] == "regression" and facts["input_shape"] == [4]


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"a": np.ones(3), "b": np.ones(3)}, "needs arrays named x and y"),
        ({"x": np.ones((3, 2)), "y": np.ones(4)}, "x has 3 samples and y has 4"),
        ({"x": np.array(["a", "b"]), "y": np.array([0, 1])}, "only numbers are accepted"),
        ({"x": np.array([[1.0], [np.nan]]), "y": np.array([0, 1])}, "x holds NaN or infinity"),
        ({"x": np.ones((2, 2)), "y": np.array([0, 0])}, "single class"),
    ],
)
def test_bad_npz_files_are_refused(arrays, message):
    assert message in refused("arrays", npz(**arrays))


def test_npz_object_arrays_are_never_unpickled():
    data = npz(x=np.array([{"a": 1}, {"b": 2}], dtype=object), y=np.array([0, 1]))
    assert "without pickle" in refused("arrays", data)


# --- images -----------------------------------------------------------------------------------------------


def test_an_image_folder_zip_is_brought_to_one_size_and_mode():
    data = zip_of(
        {
            "a/1.png": png(10, (8, 6)),
            "a/2.png": png(20, (20, 20)),
            "b/1.png": png(200, (8, 6), "RGB"),
            "__MACOSX/a/._1.png": b"junk",
        }
    )
    facts = facts_of("images", data)
    assert facts["input_shape"] == [3, 6, 8] and facts["samples"] == 3
    assert facts["classes"] == [{"name": "a", "count": 2}, {"name": "b", "count": 1}]
    x, y = load_arrays(io.BytesIO(data), facts)
    assert x.shape == (3, 3, 6, 8) and 0 <= x.min() and x.max() <= 1 and y.tolist() == [0, 0, 1]
    assert datasets.sample_png(io.BytesIO(data), facts, 2).startswith(b"\x89PNG")


def test_images_larger_than_the_side_cap_are_shrunk():
    facts = facts_of("images", zip_of({"a/1.png": png(1, (300, 40)), "b/1.png": png(2)}), Limits(max_image_side=32))
    assert facts["input_shape"] == [1, 32, 32]


@pytest.mark.parametrize(
    "files, message",
    [
        ({"a/1.png": png(), "b/fake.png": b"not an image at all"}, "The file b/fake.png is not an image"),
        ({"a/1.png": png(), "b/notes.txt": b"hello"}, "The file b/notes.txt is not an image"),
        ({"a/1.png": png(), "loose.png": png()}, "The file loose.png is not in a class folder"),
        ({"a/1.png": png(), "a/2.png": png()}, "single class"),
        ({"../evil/1.png": png(), "b/1.png": png()}, "'../evil/1.png' points outside the archive"),
        ({"/etc/1.png": png(), "b/1.png": png()}, "'/etc/1.png' points outside the archive"),
        ({"a/../../1.png": png(), "b/1.png": png()}, "points outside the archive"),
    ],
)
def test_bad_and_hostile_image_zips_are_refused_naming_the_file(files, message):
    assert message in refused("images", zip_of(files))


def test_a_zip_bomb_is_refused_before_it_is_inflated():
    data = bomb(50)
    assert len(data) < 200_000
    message = refused("images", data, Limits(max_uncompressed_bytes=10 * 2**20))
    assert "The archive declares 5242" in message and "once uncompressed; the limit is 10485760 bytes." in message


def test_a_member_lying_about_its_size_is_never_read_past_the_cap():
    # It declares 10 bytes but inflates to 50 MB: the read stops at what it declared.
    data = bytearray(bomb(50))
    offset = data.find(b"PK\x01\x02", data.find(b"PK\x01\x02") + 1)  # the bomb's central directory entry
    data[offset + 24 : offset + 28] = (10).to_bytes(4, "little")
    message = refused("images", bytes(data))
    assert "b/bomb.png" in message


def test_a_member_declaring_gigabytes_is_refused_before_reading():
    message = refused("images", declaring(0xFFFFFFF0))
    assert "declares" in message and "limit is 500000000 bytes" in message


def test_an_image_with_too_many_pixels_is_refused_before_it_is_decoded():
    message = refused(
        "images", zip_of({"a/1.png": png(1), "b/big.png": png(2, (40, 40))}), Limits(max_image_pixels=1000)
    )
    assert message == "The image b/big.png is 40×40 pixels; the limit is 1000 pixels."


def test_too_many_files_are_refused():
    assert "has 6 files; the limit is 5" in refused("images", image_zip(per_class=3), Limits(max_files=5))


def test_not_a_zip_and_an_unknown_kind():
    assert "not a ZIP archive" in refused("images", b"plain text")
    assert "Unknown dataset kind" in refused("parquet", b"x")


# --- split and the graph check ---------------------------------------------------------------------------


def test_split_is_seeded_disjoint_and_stratified():
    labels = np.array([0] * 80 + [1] * 20)
    train, val = split(100, 0.2, seed=3, labels=labels)
    assert len(val) == 20 and len(train) == 80 and not set(train) & set(val)
    assert (labels[val] == 1).sum() == 4  # the 80/20 balance holds in validation
    again = split(100, 0.2, seed=3, labels=labels)
    assert all((a == b).all() for a, b in zip((train, val), again))
    assert not (split(100, 0.2, seed=4)[1] == split(100, 0.2, seed=3)[1]).all()
    with pytest.raises(ValueError):
        split(10, 1.0, seed=0)


def test_the_input_shape_check_suggests_the_datasets_shape():
    document = {"nodes": [{"id": "in", "type": "Input", "params": {"shape": [3, 32, 32]}}]}
    problem = input_shape_problem(document, {"input_shape": [1, 16, 16]})
    assert problem.code == "DATASET" and problem.node == "in" and "[1, 16, 16]" in problem.message
    assert problem.suggestion == {"action": "set_param", "node": "in", "param": "shape", "value": [1, 16, 16]}
    document["nodes"][0]["params"]["shape"] = [1, 16, 16]
    assert input_shape_problem(document, {"input_shape": [1, 16, 16]}) is None
    assert "has 0" in input_shape_problem({"nodes": []}, {"input_shape": [2]}).message
    tokens = {"nodes": [{"id": "in", "type": "Input", "params": {"shape": [2], "dtype": "int64"}}]}
    assert input_shape_problem(tokens, {"input_shape": [2]}).suggestion["param"] == "dtype"


# --- the built-in datasets are deterministic and learnable --------------------------------------------------


def test_builtin_files_are_the_same_bytes_every_time():
    for slug in datasets.BUILTINS:
        assert datasets.builtin_file(slug) == datasets.builtin_file(slug)


def _accuracy_after_training(slug: str, model: torch.nn.Module, epochs: int) -> float:
    """Validation accuracy of ``model`` after a plain Adam loop on the built-in dataset (stratified 75/25)."""
    kind = datasets.BUILTINS[slug][1]
    data = datasets.builtin_file(slug)
    facts = facts_of(kind, data)
    x, y = load_arrays(io.BytesIO(data), facts)
    train, val = split(len(x), 0.25, seed=0, labels=y)
    torch.manual_seed(0)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    for _ in range(epochs):
        for batch in torch.from_numpy(rng.permutation(train)).split(32):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(xt[batch]), yt[batch]).backward()
            optimizer.step()
    with torch.no_grad():
        return (model(xt[val]).argmax(1) == yt[val]).float().mean().item()


def test_two_moons_is_learnable_by_a_small_mlp():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    assert _accuracy_after_training("two-moons", model, epochs=10) > 0.9  # chance: 0.5


def test_shapes_are_learnable_by_a_small_cnn():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(16 * 4 * 4, 4),
    )
    assert _accuracy_after_training("shapes-16", model, epochs=10) > 0.9  # chance: 0.25


@pytest.mark.parametrize(
    "outputs, facts, message",
    [
        ({"out": ["B", 2]}, {"task": "classification", "classes": [{}, {}]}, None),
        ({"out": ["B", 1]}, {"task": "regression"}, None),
        (
            {"out": ["B", 3, 4]},
            {"task": "regression"},
            "The dataset's target is one number per sample, but output out is (B, 3, 4).",
        ),
        (
            {"a": ["B", 2], "b": ["B", 1]},
            {"task": "regression"},
            "A dataset trains one output, and this graph has 2: keep one output.",
        ),
        ({"out": ["B", "T"]}, {"task": "regression"}, None),  # known only once it runs
    ],
)
def test_output_problem_says_what_does_not_fit_the_targets(outputs, facts, message):
    from training.datasets import output_problem

    assert output_problem(outputs, facts) == message
