"""The Celery worker is killed -9 while its reply email waits for the mail server's answer:
the email is sent once, by the sweep, after the dead attempt's claim runs out."""

import time

import pytest

from tests.faults.conftest import call, eventually
from tests.faults.smtp import SMTPServer
from tests.servers import celery_worker

pytestmark = pytest.mark.faults

LEASE_SECONDS = 5  # the dead attempt's claim; production keeps 15 minutes


def offline_customer_with_a_reply(stack, body: str) -> None:
    """A customer with an email and no open widget: the agent's reply goes out by email."""
    base = stack.url("a")
    session = call(base, "POST", "/api/v1/widget/sessions",
                   {"name": "Mail Fault", "email": "mail-fault@example.com"})  # fmt: skip
    assert session.status == 201, session
    created = call(base, "POST", "/api/v1/widget/conversations",
                   {"body": "my parcel?", "client_id": "mail-1"},
                   token=session.body["customer_token"])  # fmt: skip
    assert created.status == 201, created
    reply = call(base, "POST", f"/api/v1/conversations/{created.body['id']}/messages",
                 {"body": body, "client_id": "mail-1-r"},
                 token=stack.agent_token, auth="Token")  # fmt: skip
    assert reply.status == 201, reply


def test_a_worker_killed_mid_email_leaves_it_sent_once(healthy):
    stack = healthy
    with SMTPServer() as smtp:
        env = stack.env | {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp.port),
            "HELPDESK_EMAIL_CLAIM_LEASE_SECONDS": str(LEASE_SECONDS),
            "HELPDESK_EMAIL_MISSED_GRACE_SECONDS": "2",
        }
        stack.worker.stop()
        mailer = celery_worker(env, stack.directory, name="mailer").start()
        try:
            smtp.stall_next = True
            offline_customer_with_a_reply(stack, "Your parcel left the depot today.")
            assert smtp.stalled.wait(60), "the email never reached the mail server"
            mailer.kill()  # mid-send: the server holds its 250
            killed_at = time.monotonic()
            mailer.start()
            eventually(lambda: smtp.accepted, 90, "the email sent again by the sweep")
            assert time.monotonic() - killed_at >= LEASE_SECONDS - 1, "sent under the lease"
            time.sleep(3 * 3)  # a few more sweeps (every 2 × 3 s here): nothing more goes out
            assert len(smtp.accepted) == 1, smtp.accepted
            assert b"Your parcel left the depot today." in smtp.accepted[0].replace(b"=\r\n", b"")
        finally:
            mailer.stop(timeout=5)
            stack.worker.start()
