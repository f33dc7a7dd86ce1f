import pytest
from django.test import Client

from smsvoice.models import StaffMember
from tests.factories import OrganizationFactory, StaffMemberFactory


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real hashing is slow on purpose; tests log in often and test nothing about it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def engine_state_clean(settings):
    """The sending engine keeps budgets and wake-ups in Redis (or in-process): each test
    starts with none, whatever the one before left."""
    from broadcasts.engine import pace

    def clean() -> None:
        backend = pace.backend()
        if hasattr(backend, "redis"):
            keys = list(backend.redis.scan_iter(match=f"{pace.PREFIX}*", count=1000))
            if keys:
                backend.redis.delete(*keys)
        else:
            backend.values.clear()

    clean()
    yield
    clean()


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Demo Gym")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Other Gym")


@pytest.fixture
def staff_member(org):
    return StaffMemberFactory(organization=org, role=StaffMember.Role.STAFF)


@pytest.fixture
def admin_member(org):
    return StaffMemberFactory(organization=org, role=StaffMember.Role.ADMIN, title="Owner")


@pytest.fixture
def staff_client(staff_member) -> Client:
    client = Client()
    client.force_login(staff_member.user)
    return client


@pytest.fixture
def admin_client(admin_member) -> Client:
    client = Client()
    client.force_login(admin_member.user)
    return client


@pytest.fixture
def other_staff_client(other_org) -> Client:
    client = Client()
    client.force_login(StaffMemberFactory(organization=other_org, role="admin").user)
    return client


# --- a real Celery worker on Redis, for tests where ordering, retries or crashes matter ---


@pytest.fixture
def celery_worker_process(transactional_db, settings):
    """Start ``celery -A smsvoice worker`` against this test database and broker.

    Tests using it must commit their data (transaction=True) so the worker sees it. Extra
    environment for the worker (e.g. the Twilio stand-in's address) goes in
    ``worker.env`` before calling ``worker.start()``.
    """
    worker = CeleryWorker(settings)
    yield worker
    worker.stop()


class CeleryWorker:
    def __init__(self, settings) -> None:
        import os

        from django.db import connection

        db = connection.settings_dict
        self.broker = settings.CELERY_BROKER_URL
        assert self.broker.startswith("redis://"), "make test sets CELERY_BROKER_URL to Redis"
        self.env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": self.broker,
            "SITE_URL": settings.SITE_URL,
        }
        self.process = None
        self.log_path = None

    def start(self, *, concurrency: int = 2, pool: str = "prefork") -> None:
        import subprocess
        import sys
        import tempfile
        import time
        from pathlib import Path

        from smsvoice.celery import app

        if self.process is None:
            # The first worker of a test starts on an empty broker database: this machine's
            # Redis outlives test runs, and kombu hands a new worker the unacknowledged
            # messages an earlier run's killed worker left (an hour later, in the middle of
            # some other test). The test broker database is the suite's alone.
            import redis

            redis.Redis.from_url(self.broker).flushdb()
        app.control.purge()
        self.log_path = Path(tempfile.mkstemp(prefix="celery-worker-", suffix=".log")[1])
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "smsvoice",
                "worker",
                "--loglevel=INFO",
                f"--concurrency={concurrency}",
                f"--pool={pool}",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            env=self.env,
            stdout=self.log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill() takes the pool too
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if "ready." in self.log_path.read_text():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"the Celery worker did not start:\n{self.log_path.read_text()}")

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path else ""

    def kill(self) -> None:
        """Kill the worker at once, as a crash would (no graceful shutdown)."""
        import os
        import signal

        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        import signal

        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except Exception:
                self.kill()
        from django.db import connections

        connections.close_all()


# --- localstripe: Stripe's REST API on loopback, for the credits tests and later issues ---


@pytest.fixture(scope="session")
def localstripe_url():
    """Start ``bin/localstripe`` (data in memory only) for the session; yields its base URL."""
    import socket
    import subprocess
    import sys
    import tempfile
    import time
    from pathlib import Path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryFile() as log:
        launcher = Path(__file__).resolve().parent.parent / "bin" / "localstripe"
        process = subprocess.Popen(
            [sys.executable, str(launcher), "--port", str(port)], stdout=log, stderr=log
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    log.seek(0)
                    raise RuntimeError(
                        f"localstripe did not start:\n{log.read().decode()}"
                    ) from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
        process.terminate()
        process.wait(10)


@pytest.fixture
def stripe_backend(settings, localstripe_url):
    """Point the Stripe gateway at localstripe with test keys; yields the settings."""
    settings.PAYMENTS_BACKEND = "stripe"
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_SECRET_KEY = "sk_test_localstripe"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_localstripe"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_localstripe"
    return settings
