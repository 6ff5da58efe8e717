"""The embedded mode starts from nothing: `manage.py serve` with no environment at all.

No DATABASE_URL, REDIS_URL or DJANGO_SETTINGS_MODULE: SQLite (in a temporary directory),
the in-memory channel layer and in-process tasks. The printed login must work.
"""

import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`manage.py serve` in a subprocess, its output collected as it comes."""

    def __init__(self, tmp_path: Path, port: int):
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "HELPDESK_SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        }
        command = [sys.executable, "manage.py", "serve", "--port", str(port)]
        command += ["--demo-conversations", "8"]  # a small demo keeps the test quick
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, url: str) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"serve exited with {self.process.returncode}:\n{self.output}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.25)
        pytest.fail(f"serve did not answer within {STARTUP_SECONDS} s:\n{self.output}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def embedded_server(tmp_path):
    port = free_port()
    server = Server(tmp_path, port)
    try:
        server.wait_for(f"http://127.0.0.1:{port}/admin/login/")
        yield server, f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def test_serve_starts_with_no_environment_and_the_printed_login_works(embedded_server):
    server, base = embedded_server
    output = server.output
    assert f"Log in at  {base}/admin/" in output
    assert "Email      admin@example.com" in output
    assert "Demo data: 8 conversations created" in output
    password = re.search(r"Password   (\S+)", output).group(1)

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with opener.open(f"{base}/admin/login/") as response:
        assert response.status == 200
        page = response.read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": csrf,
            "username": "admin@example.com",
            "password": password,
            "next": "/admin/",
        }
    ).encode()
    request = urllib.request.Request(f"{base}/admin/login/", data=form, headers={"Referer": base})
    with opener.open(request) as response:  # follows the redirect to /admin/
        assert response.status == 200
        assert response.url == f"{base}/admin/"
        page = response.read().decode()
    assert 'id="login-form"' not in page
    assert "/admin/logout/" in page  # logged in

    with opener.open(f"{base}/api/schema/") as response:
        assert response.status == 200

    # The ticker ran every periodic task once at start: each one is known and none failed.
    time.sleep(1.5)
    assert "periodic task" not in server.output and "NotRegistered" not in server.output
