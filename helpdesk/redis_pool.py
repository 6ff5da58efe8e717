"""One Redis connection pool per process for Django's cache.

Django keeps one cache object per async context, and under ASGI every request runs in a
context of its own: each request built a new RedisCache with a new connection pool, so its
first cache call (a rate-limit check, a coalescing key) opened a new TCP connection to Redis
and sent HELLO. Sharing the pool keeps those connections open across requests. redis-py pools
are thread-safe and start afresh in a forked child.
"""

import threading
from typing import Any

import redis

_pools: dict[tuple[str, str], redis.ConnectionPool] = {}
_lock = threading.Lock()


class SharedConnectionPool(redis.ConnectionPool):
    """`CACHES[...]["OPTIONS"]["pool_class"]`: the same pool for the same URL and options."""

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> redis.ConnectionPool:
        key = (url, repr(sorted(kwargs.items())))
        with _lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = super().from_url(url, **kwargs)
            return pool
