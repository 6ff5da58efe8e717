"""Failed logins to /admin/login/ (also the agent workspace's login) are limited per IP and
per username, on real Redis; over the limit even the right password is refused."""

import re
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client

from tests.helpers import limit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

LOGIN = "/admin/login/"
PASSWORD = "pw-for-tests"  # make_agent's


def log_in(client: Client, username: str, password: str, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_after_too_many_failures_for_a_username_even_the_right_password_is_refused(
    settings, make_agent
):
    limit(settings, login_username="3/hour")
    agent = make_agent()
    client = Client()
    failures = [log_in(client, agent.username, "wrong").status_code for _ in range(3)]
    assert failures == [200, 200, 200]  # the form again, with "please enter a correct…"

    refused = log_in(client, agent.username.upper(), PASSWORD)  # usernames: any case
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many failed logins. Try again in 60 minutes." in refused.content.decode()
    assert not logged_in(client)

    other = make_agent()
    assert log_in(client, other.username, PASSWORD).status_code == 302  # others still can


def test_too_many_failures_from_one_address_lock_that_address_only(settings, make_agent):
    limit(settings, login_ip="3/hour")
    agent = make_agent()
    client = Client()
    for n in range(3):
        assert log_in(client, f"guess{n}@example.com", "wrong").status_code == 200
    assert log_in(client, agent.username, PASSWORD).status_code == 429
    assert not logged_in(client)
    elsewhere = log_in(Client(), agent.username, PASSWORD, REMOTE_ADDR="198.51.100.7")
    assert elsewhere.status_code == 302


def test_successful_logins_are_not_counted(settings, make_agent):
    limit(settings, login_username="2/hour", login_ip="2/hour")
    agent = make_agent()
    client = Client()
    for _ in range(5):
        assert log_in(client, agent.username, PASSWORD).status_code == 302
        client.logout()
    assert log_in(client, agent.username, "wrong").status_code == 200  # still within budget


def test_the_lock_message_is_translated(settings, make_agent):
    limit(settings, login_username="1/hour")
    agent = make_agent()
    client = Client(HTTP_ACCEPT_LANGUAGE="tr")
    log_in(client, agent.username, "wrong")
    refused = log_in(client, agent.username, PASSWORD)
    assert refused.status_code == 429
    assert "Çok fazla başarısız giriş" in refused.content.decode()


def test_concurrent_guesses_check_exactly_the_limit(settings, live_server_url, make_agent):
    limit(settings, login_username="5/hour")
    agent = make_agent()
    with urllib.request.urlopen(live_server_url + LOGIN, timeout=10) as page:
        cookie = page.headers["Set-Cookie"].split(";")[0]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode())[1]

    def guess(n: int) -> int:
        body = {"csrfmiddlewaretoken": token, "username": agent.username, "password": f"no{n}"}
        request = urllib.request.Request(
            live_server_url + LOGIN,
            data=urllib.parse.urlencode(body).encode(),
            headers={"Cookie": cookie, "Referer": live_server_url + LOGIN},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(guess, range(40)))
    assert statuses.count(200) == 5  # passwords checked
    assert statuses.count(429) == 35
