"""Django's Redis cache, with its connection pools and clients shared by the whole process.

Django keeps one cache object per async context, and under ASGI every request runs in a
context of its own: each request built a new cache client with a new connection pool, so
its first cache call (a rate-limit check, a coalescing key) opened a new TCP connection to
Redis and sent HELLO; and every cache call built a new redis-py client object, which sets up
hundreds of response callbacks. Pools and clients are thread-safe, so one of each per server
and options serves every request. (A forked child's pool starts afresh by itself.)
"""

import threading
from typing import Any

import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

_pools: dict[tuple[str, str], redis.ConnectionPool] = {}
_clients: dict[redis.ConnectionPool, redis.Redis] = {}
_lock = threading.Lock()


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


class RedisCache(DjangoRedisCache):
    """`CACHES[...]["BACKEND"] = "helpdesk.redis_cache.RedisCache"`; options as Django's."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedRedisCacheClient
