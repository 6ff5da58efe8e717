"""The ASGI application serves HTTP through a real server."""

import urllib.request


def test_live_server_serves_the_admin_login(live_server_url):
    with urllib.request.urlopen(f"{live_server_url}/admin/login/") as response:
        assert response.status == 200
        assert b"csrfmiddlewaretoken" in response.read()
