"""Tiny helpers that read settings from the environment and fail loudly on bad values.

A typo in a deployment's environment should stop the process at start-up with a sentence naming the
variable, not leave the site running with a silently different configuration.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Iterable, Mapping

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    """The variable's value, or None when it is unset or blank (a blank value means "use the default")."""
    value = (os.environ if environ is None else environ).get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def env_str(name: str, default: str | None = None, *, environ: Mapping[str, str] | None = None) -> str | None:
    """A string variable, stripped; ``default`` when unset or blank."""
    value = _raw(name, environ)
    return default if value is None else value


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    """A boolean variable: 1/0, true/false, yes/no, on/off (any case)."""
    value = _raw(name, environ)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false, 1/0, yes/no, on/off; got {value!r}.")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """An integer variable (underscores allowed, as in ``2_000_000``), at least ``minimum`` when given."""
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer; got {value!r}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {number}.")
    return number


def env_float(
    name: str,
    default: float | None,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> float | None:
    """A decimal number within ``[minimum, maximum]`` when those are given; ``default`` when unset."""
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number; got {value!r}.") from None
    if number != number or (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        low = "-inf" if minimum is None else f"{minimum:g}"
        high = "inf" if maximum is None else f"{maximum:g}"
        raise ImproperlyConfigured(f"{name} must be between {low} and {high}; got {value!r}.")
    return number


def env_list(name: str, default: Iterable[str] = (), *, environ: Mapping[str, str] | None = None) -> list[str]:
    """A comma-separated list; items are stripped and empty items dropped."""
    value = _raw(name, environ)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: Iterable[str], *, environ: Mapping[str, str] | None = None) -> str:
    """A variable that must be one of ``choices`` (compared in lower case)."""
    allowed = sorted(choices)
    value = _raw(name, environ)
    if value is None:
        return default
    if value.lower() not in allowed:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(allowed)}; got {value!r}.")
    return value.lower()


def env_json_object(name: str, default: dict, *, environ: Mapping[str, str] | None = None) -> dict:
    """A JSON object, e.g. a storage backend's options: ``{"bucket_name": "models"}``."""
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a JSON object; it is not JSON ({exc}).") from None
    if not isinstance(parsed, dict):
        raise ImproperlyConfigured(f'{name} must be a JSON object, like {{"location": "/data"}}; got {value!r}.')
    return parsed


_RATE_PERIODS = {"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"}


def env_rate(name: str, default: str, *, environ: Mapping[str, str] | None = None) -> str:
    """A DRF throttle rate such as ``600/min``: a positive count, a slash, a period (s, min, hour, day)."""
    value = _raw(name, environ)
    if value is None:
        return default
    count, _, period = value.partition("/")
    if not (count.isdigit() and int(count) > 0 and period.lower() in _RATE_PERIODS):
        raise ImproperlyConfigured(f"{name} must look like 600/min (count/s|min|hour|day); got {value!r}.")
    return f"{int(count)}/{period.lower()}"


def env_networks(name: str, *, environ: Mapping[str, str] | None = None) -> list[str]:
    """A comma-separated list of IP addresses or CIDR networks (``10.0.0.5, 172.16.0.0/12``), normalised."""
    networks = []
    for item in env_list(name, environ=environ):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must list IP addresses or networks (10.0.0.5, 172.16.0.0/12); got {item!r}."
            ) from None
    return networks
