"""How many websockets one customer token (or one staff user) holds open at once.

An owner has `cap` numbered slots, each a cache key (Redis in production, so every server
process counts together). A socket takes the first free slot with `add` (SET NX, atomic), so
concurrent handshakes can never hold more than `cap` slots; it gives the slot back when it
closes. Slots expire after SLOT_TTL_SECONDS unless their socket refreshes them, which each
open socket does by itself every REFRESH_SECONDS: a server process that dies frees its
sockets' slots within a minute instead of locking their owner out.
"""

from django.core.cache import cache

SLOT_TTL_SECONDS = 60
REFRESH_SECONDS = 20


def _slot_key(owner: str, index: int) -> str:
    return f"helpdesk:socket-slot:{owner}:{index}"


def claim_slot(owner: str, connection: str, cap: int) -> int | None:
    """The slot this connection now holds, or None when all `cap` are held."""
    keys = [_slot_key(owner, index) for index in range(cap)]
    held = cache.get_many(keys)
    for index, key in enumerate(keys):
        if key not in held and cache.add(key, connection, SLOT_TTL_SECONDS):
            return index
    return None


def refresh_slot(owner: str, index: int, connection: str) -> bool:
    """Keeps the slot; False if it expired meanwhile and another socket took it."""
    key = _slot_key(owner, index)
    if cache.get(key) == connection:
        return cache.touch(key, SLOT_TTL_SECONDS)
    return cache.add(key, connection, SLOT_TTL_SECONDS)


def release_slot(owner: str, index: int, connection: str) -> None:
    """Gives the slot back, unless it expired and another socket holds it now."""
    key = _slot_key(owner, index)
    if cache.get(key) == connection:
        cache.delete(key)


def slots_held(owner: str, cap: int) -> int:
    return len(cache.get_many([_slot_key(owner, index) for index in range(cap)]))
