"""Django's Redis cache, with its connection pools and clients shared by the whole process.

Django keeps one cache object per async context, and under ASGI every request runs in a
context of its own: each request built a new cache client with a new connection pool, so
its first cache call (a rate-limit check, a coalescing key) opened a new TCP connection to
Redis and sent HELLO; and every cache call built a new redis-py client object, which sets up
hundreds of response callbacks. Pools and clients are thread-safe, so one of each per server
and options serves every request. (A forked child's pool starts afresh by itself.)

The cache holds nothing a request cannot do without (rate-limit counters, presence, the
keys that coalesce scheduled jobs), so a Redis outage must not fail requests: when Redis
does not answer, the client acts as Django's DummyCache (reads miss, `add` stores "as if",
a counter is at its first hit),
says so once in the log, and leaves Redis alone for OUTAGE_BACKOFF_SECONDS before trying
again, so requests do not each wait on a dead server.
"""

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

_pools: dict[tuple[str, str], redis.ConnectionPool] = {}
_clients: dict[redis.ConnectionPool, redis.Redis] = {}
_lock = threading.Lock()


logger = logging.getLogger(__name__)

OUTAGE_BACKOFF_SECONDS = 1.0
_UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError)
_down_until = 0.0

Result = TypeVar("Result")


def _unless_redis_is_down(
    fallback: Callable[..., Any],
) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """Run the cache call; while Redis does not answer, return `fallback(*args)` instead."""

    def decorate(method: Callable[..., Result]) -> Callable[..., Result]:
        @functools.wraps(method)
        def call(self: Any, *args: Any) -> Any:
            global _down_until
            if time.monotonic() < _down_until:
                return fallback(*args)
            try:
                return method(self, *args)
            except _UNAVAILABLE as error:
                if _down_until == 0.0 or time.monotonic() > _down_until + 60:
                    logger.warning("Redis is not answering; the cache acts empty: %s", error)
                _down_until = time.monotonic() + OUTAGE_BACKOFF_SECONDS
                return fallback(*args)

        return call

    return decorate


class SharedRedisCacheClient(RedisCacheClient):
    def _get_connection_pool(self, write: bool) -> redis.ConnectionPool:
        server = self._servers[self._get_connection_pool_index(write)]
        key = (server, repr(sorted(self._pool_options.items())))
        with _lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = self._pool_class.from_url(server, **self._pool_options)
            return pool

    def get_client(self, key: Any = None, *, write: bool = False) -> redis.Redis:
        pool = self._get_connection_pool(write)
        client = _clients.get(pool)
        if client is None:
            client = _clients.setdefault(pool, self._client(connection_pool=pool))
        return client

    # As Django's DummyCache: every read misses, every write "succeeds"; a counter counts
    # from nothing (its first hit), so rate limits let requests through.
    add = _unless_redis_is_down(lambda *args: True)(RedisCacheClient.add)
    get = _unless_redis_is_down(lambda key, default: default)(RedisCacheClient.get)
    set = _unless_redis_is_down(lambda *args: None)(RedisCacheClient.set)
    touch = _unless_redis_is_down(lambda *args: False)(RedisCacheClient.touch)
    delete = _unless_redis_is_down(lambda *args: False)(RedisCacheClient.delete)
    get_many = _unless_redis_is_down(lambda keys: {})(RedisCacheClient.get_many)
    has_key = _unless_redis_is_down(lambda key: False)(RedisCacheClient.has_key)
    incr = _unless_redis_is_down(lambda key, delta: delta)(RedisCacheClient.incr)
    set_many = _unless_redis_is_down(lambda data, timeout: list(data))(RedisCacheClient.set_many)
    delete_many = _unless_redis_is_down(lambda keys: None)(RedisCacheClient.delete_many)


class RedisCache(DjangoRedisCache):
    """`CACHES[...]["BACKEND"] = "helpdesk.redis_cache.RedisCache"`; options as Django's."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedRedisCacheClient
