"""A run's config: explicit defaults, checked types and ranges, caps, and one sentence per refusal."""

import pytest

from training.config import DEFAULTS, Caps, ConfigError, RunConfig, parse_config


def refusal(data, caps=None) -> str:
    with pytest.raises(ConfigError) as error:
        parse_config(data, caps)
    return error.value.message


def test_an_empty_config_takes_every_default_and_stores_them_explicitly():
    config = parse_config({})
    assert config == parse_config(None) == RunConfig()
    assert config.to_dict() == {**DEFAULTS, "time_limit_s": Caps().time_limit_s}
    assert config.total_steps == 30


def test_values_are_kept_and_choices_are_case_insensitive():
    config = parse_config(
        {"batch_size": 4, "steps": 5, "epochs": 2, "optimizer": "SGD", "lr": 0.1, "loss": "l1", "device": "cpu"}
    )
    assert (config.batch_size, config.total_steps, config.optimizer, config.lr, config.loss) == (
        4,
        10,
        "sgd",
        0.1,
        "l1",
    )


def test_input_shapes_are_stored_as_lists():
    config = parse_config({"input_shapes": {"inp": [9, 256]}})
    assert config.input_shapes == {"inp": (9, 256)}
    assert config.to_dict()["input_shapes"] == {"inp": [9, 256]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("fast", 'config: expected an object such as {"steps": 30, "batch_size": 8}.'),
        (
            {"stepz": 3},
            "Unknown config field(s): stepz. Allowed: batch_size, steps, epochs, optimizer, lr, loss, "
            "device, precision, data, seed, time_limit_s, input_shapes, dataset, val_fraction, early_stop_metric, "
            "early_stop_patience, init_from_run.",
        ),
        ({"batch_size": "8"}, "batch_size: expected a whole number, got '8'."),
        ({"batch_size": True}, "batch_size: expected a whole number, got True."),
        ({"batch_size": 0}, "batch_size must be between 1 and 512 (got 0)."),
        ({"steps": 2.5}, "steps: expected a whole number, got 2.5."),
        ({"optimizer": "lion"}, "optimizer must be one of adam, adamw, sgd (got 'lion')."),
        ({"lr": 0}, "lr must be above 0 and at most 10 (got 0)."),
        ({"lr": float("nan")}, "lr: expected a number, got nan."),
        ({"device": "tpu"}, "device must be one of auto, cpu, cuda (got 'tpu')."),
        ({"precision": "int8"}, "precision must be one of fp32, bf16, fp16 (got 'int8')."),
        ({"data": "real"}, "data must be one of fixed, random (got 'real')."),
        ({"seed": -1}, "seed must be between 0 and 2147483647 (got -1)."),
        ({"time_limit_s": 10_000}, "time_limit_s must be between 1 and 900 (got 10000)."),
        (
            {"input_shapes": {"inp": [0, 3]}},
            "input_shapes.inp: expected 1 to 8 positive sizes without the batch, such as [3, 32, 32]; got [0, 3].",
        ),
        ({"input_shapes": []}, 'input_shapes: expected an object such as {"inp": [9, 256]} (sizes without the batch).'),
    ],
)
def test_bad_values_are_refused_with_a_sentence_naming_the_field(data, message):
    assert refusal(data) == message


def test_the_caps_bound_steps_and_batch_size():
    caps = Caps(max_steps=100, max_batch_size=64)
    assert refusal({"steps": 101}, caps) == "steps must be between 1 and 100 (got 101)."
    assert refusal({"steps": 60, "epochs": 2}, caps) == "steps × epochs is 120; the limit is 100 steps per run."
    assert refusal({"batch_size": 65}, caps) == "batch_size must be between 1 and 64 (got 65)."
    assert parse_config({"steps": 50, "epochs": 2, "batch_size": 64}, caps).total_steps == 100


def test_the_time_limit_defaults_to_the_cap():
    assert parse_config({}, Caps(time_limit_s=60)).time_limit_s == 60
    assert parse_config({"time_limit_s": 30}, Caps(time_limit_s=60)).time_limit_s == 30


def test_caps_come_from_the_settings(settings):
    caps = Caps.from_settings(settings.TORCHCANVAS_RUNS)
    assert caps.max_params == 200_000_000 and caps.max_concurrent == 2 and caps.time_limit_s == 900
