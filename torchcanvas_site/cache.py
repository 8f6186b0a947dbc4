"""The Redis cache, degrading to this process's memory while Redis is unreachable.

Throttle counters and cached page reports live in the cache. With plain ``RedisCache`` every request would
answer 500 while Redis is down, the stateless engine endpoints included; this backend keeps answering from a
local in-process cache instead (throttles then count per process: fail soft, not open), logs one warning
when Redis goes away and one when it is back, and tries Redis again every few seconds.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("torchcanvas.cache")

# Every operation of Django's cache API (the rest, get_or_set and the async variants, build on these).
OPERATIONS = ("add", "get", "set", "touch", "delete", "get_many", "has_key", "incr", "set_many", "delete_many", "clear")


class Outage:
    """Whether one Redis server is away; shared by every thread's cache object for that server."""

    retry_after_s = 5.0  # while away, requests skip Redis (no connection attempt) for this long

    def __init__(self, location: str):
        self.location = location
        self.skip_until = 0.0
        self.away = False
        self._lock = threading.Lock()

    def call(self, remote, local):
        if time.monotonic() < self.skip_until:
            return local()
        try:
            result = remote()
        except (RedisConnectionError, RedisTimeoutError) as exc:
            with self._lock:
                self.skip_until = time.monotonic() + self.retry_after_s
                if not self.away:
                    self.away = True
                    logger.warning(
                        "The Redis cache at %s is unreachable (%s): throttles and cached pages use this "
                        "process's memory until it answers again",
                        self.location,
                        exc,
                    )
            return local()
        if self.away:
            with self._lock:
                if self.away:
                    self.away = False
                    logger.warning("The Redis cache at %s answers again", self.location)
        return result


_outages: dict[str, Outage] = {}
_outages_lock = threading.Lock()


def outage_of(location: str) -> Outage:
    with _outages_lock:
        return _outages.setdefault(location, Outage(location))


class FallbackRedisCache(RedisCache):
    """``RedisCache`` whose operations fall back to a :class:`LocMemCache` while Redis is unreachable."""

    def __init__(self, server, params):
        super().__init__(server, params)
        location = server if isinstance(server, str) else ",".join(server)
        self.outage = outage_of(location)
        local = {key: params[key] for key in ("TIMEOUT", "KEY_PREFIX", "VERSION", "KEY_FUNCTION") if key in params}
        self.local = LocMemCache(f"redis-fallback:{location}", local)

    @property
    def serving_locally(self) -> bool:
        """Whether Redis is away and this process's memory answers instead (it knows nothing of other processes)."""
        return self.outage.away


def _falling_back(name: str):
    remote = getattr(RedisCache, name)

    def operation(self, *args, **kwargs):
        return self.outage.call(
            lambda: remote(self, *args, **kwargs), lambda: getattr(self.local, name)(*args, **kwargs)
        )

    operation.__name__ = operation.__qualname__ = name
    operation.__doc__ = remote.__doc__
    return operation


for _name in OPERATIONS:
    setattr(FallbackRedisCache, _name, _falling_back(_name))


def redis_cache(url: str) -> dict:
    """The ``CACHES["default"]`` of a site with Redis: short timeouts, so an outage is found out fast."""
    return {
        "BACKEND": "torchcanvas_site.cache.FallbackRedisCache",
        "LOCATION": url,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
    }
