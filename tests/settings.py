"""Test settings: the real settings module, pointed at the PostgreSQL and Redis of this
project's machines unless DATABASE_URL / REDIS_URL say otherwise. Where nothing answers at
those URLs, the suite starts throwaway servers of its own (tests/servers.py)."""

import os
import tempfile

from tests.servers import ensure_services

os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = ensure_services(
    os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/helpdesk"),
    os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
)
os.environ.setdefault("CHANNELS_PREFIX", "helpdesk-test")
os.environ.setdefault("SECRET_KEY", "test-suite-only")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("HELPDESK_IDENTITY_SECRET", "test-identity-secret")
# The test servers speak plain HTTP: cookies marked Secure would not come back from a browser.
os.environ.setdefault("HELPDESK_HTTPS", "false")
# Uploaded files go to a directory of this run, never into the work tree.
os.environ.setdefault(
    "HELPDESK_ATTACHMENT_ROOT", tempfile.mkdtemp(prefix="helpdesk-test-attachments-")
)

from helpdesk.settings import *  # noqa: E402,F403

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "attachments": STORAGES["attachments"],  # noqa: F405
}
# Other features' tests must never be throttled by accident; rate-limit tests set their own rates.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {
        scope: "100000/min"
        for scope in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]  # noqa: F405
    },
}
# Replies to offline customers are emailed at once, not coalesced over a minute.
HELPDESK_EMAIL_DELAY_SECONDS = 0
