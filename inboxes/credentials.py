"""An inbox's secrets at rest: encrypted with a key derived from SECRET_KEY (Fernet, from the
`cryptography` library), so a database dump alone gives away no token. The helpdesk must read
them back (to sign webhooks, call a platform), so they are encrypted, not hashed; changing
SECRET_KEY means entering the inboxes' secrets again (docs/channels.md)."""

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

PREFIX = "enc:"


def _fernet() -> Fernet:
    key = hashlib.sha256(b"helpdesk.inboxes.credentials:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(value: str) -> str:
    return PREFIX + _fernet().encrypt(value.encode()).decode()


def unseal(value: str) -> str:
    """The clear text of a sealed value ("" if it cannot be read: another SECRET_KEY)."""
    if not value.startswith(PREFIX):
        return value
    try:
        return _fernet().decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        return ""


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def same(given: str, expected: str) -> bool:
    """Constant-time comparison; an unset expected value never matches."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def hmac_sha256(key: str, body: bytes) -> str:
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
