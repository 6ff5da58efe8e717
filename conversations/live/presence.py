"""Whether a customer has the widget open right now: one cache key per open customer socket.

The customer consumer calls `customer_socket_opened` / `customer_socket_seen` (its heartbeat,
at least every ~20 s) / `customer_socket_closed`; the email job asks `customer_is_online`
before mailing a reply. The cache is Redis in production (shared by every process) and
LocMem in the embedded mode (one process). Every key lives TTL_SECONDS and heartbeats renew
it, so a crashed browser or server stops counting by itself.

Each socket has its own key, which closing deletes at once: a closed socket never looks open.
A per-customer index lists the socket ids; it is read-modify-write, so a race may drop an id
until that socket's next heartbeat puts it back. Both mistakes err towards "offline", i.e.
towards sending an email, never towards silently not sending one.
"""

from django.core.cache import cache

TTL_SECONDS = 90  # three missed heartbeats


def _socket_key(customer_id: int, connection_id: str) -> str:
    return f"helpdesk:customer-socket:{customer_id}:{connection_id}"


def _index_key(customer_id: int) -> str:
    return f"helpdesk:customer-sockets:{customer_id}"


def customer_socket_opened(customer_id: int, connection_id: str) -> None:
    cache.set(_socket_key(customer_id, connection_id), 1, TTL_SECONDS)
    index = set(cache.get(_index_key(customer_id)) or ())
    index.add(connection_id)
    cache.set(_index_key(customer_id), index, TTL_SECONDS)


def customer_socket_seen(customer_id: int, connection_id: str) -> None:
    """A heartbeat; also brings back a socket that expired while silent."""
    customer_socket_opened(customer_id, connection_id)


def customer_socket_closed(customer_id: int, connection_id: str) -> None:
    cache.delete(_socket_key(customer_id, connection_id))
    index = set(cache.get(_index_key(customer_id)) or ())
    if connection_id in index:
        index.discard(connection_id)
        if index:
            cache.set(_index_key(customer_id), index, TTL_SECONDS)
        else:
            cache.delete(_index_key(customer_id))


def customer_is_online(customer_id: int) -> bool:
    index = cache.get(_index_key(customer_id)) or ()
    if not index:
        return False
    alive = cache.get_many([_socket_key(customer_id, connection) for connection in index])
    return bool(alive)
