"""Shared fixtures: every database test runs on SQLite and on the local PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import gc
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from redis import Redis as SyncRedis
from redis.exceptions import RedisError
from sqlalchemy import text

from dentalvoice.app import create_app
from dentalvoice.config import Settings
from dentalvoice.db import Database, open_database
from dentalvoice.db.migrate import upgrade
from dentalvoice.db.registry import metadata
from dentalvoice.leads.events import LeadListener

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TEST_PHI_KEY = base64.b64encode(b"k" * 32).decode()
TEST_SECRET = "global-secret-for-tests-0123456789"


@dataclass(frozen=True)
class GhlKeys:
    """A stand-in for GHL's signing keys, generated per test session."""

    ed25519_private: ed25519.Ed25519PrivateKey
    rsa_private: rsa.RSAPrivateKey

    def ed25519_public_pem(self) -> str:
        return (
            self.ed25519_private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def rsa_public_pem(self) -> str:
        return (
            self.rsa_private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )


@pytest.fixture(scope="session", autouse=True)
def _release_frozen_objects() -> Iterator[None]:
    """The first voice warm-up here freezes what the process holds (`gc.freeze`); in a test
    process that includes garbage earlier tests left (resamplers of finished pipelines), which
    would then outlive the interpreter and be reported as leaks by nanobind at exit."""
    yield
    gc.unfreeze()
    gc.collect()


@pytest.fixture(scope="session")
def ghl_keys() -> GhlKeys:
    # GHL's RSA key is 4096-bit; the tests use the same size so signatures are 512 bytes.
    return GhlKeys(
        ed25519_private=ed25519.Ed25519PrivateKey.generate(),
        rsa_private=rsa.generate_private_key(public_exponent=65537, key_size=4096),
    )


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    name = f"dentalvoice_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI and unreachable: {type(exc).__name__}")
        yield None
        return
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The local Redis, checked once; skipped when absent (a failure with CI=true)."""
    # The synchronous client: this may be first requested from inside a running event loop.
    client = SyncRedis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except (RedisError, OSError) as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI and unreachable: {type(exc).__name__}")
        pytest.skip("Redis not reachable (CI=true makes this a failure)")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, postgres_url: str | None) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    if postgres_url is None:
        pytest.skip("PostgreSQL not reachable (CI=true makes this a failure)")
    return postgres_url


def make_settings(**overrides: object) -> Settings:
    """Settings from explicit values only: the developer's environment and .env are ignored."""
    values: dict[str, object] = {
        "phi_encryption_key": TEST_PHI_KEY,
        "ghl_webhook_secret": TEST_SECRET,
        "redis_url": None,
        "public_base_url": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(database_url: str, tmp_path: Path, ghl_keys: GhlKeys) -> Settings:
    return make_settings(
        data_dir=tmp_path,
        database_url=database_url,
        ghl_webhook_ed25519_public_key=ghl_keys.ed25519_public_pem(),
        ghl_webhook_rsa_public_key=ghl_keys.rsa_public_pem(),
    )


async def _truncate(db: Database) -> None:
    async with db.transaction() as session:
        names = [t.name for t in reversed(metadata.sorted_tables)]
        if db.is_sqlite:
            for name in names:
                await session.execute(text(f'DELETE FROM "{name}"'))
        else:
            await session.execute(text(f"TRUNCATE {', '.join(names)} CASCADE"))


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database, _ = open_database(settings)
    await upgrade(database)
    try:
        yield database
    finally:
        await _truncate(database)
        await database.dispose()


@pytest.fixture
def lead_listeners() -> list[LeadListener]:
    """Listeners the app under test gets; a test appends to this before using `client`."""
    return []


@pytest.fixture
async def client(
    settings: Settings, db: Database, lead_listeners: list[LeadListener]
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, lead_listeners=lead_listeners)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c,
    ):
        yield c


@pytest.fixture
def cli_env(
    database_url: str, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """The environment of a `dentalvoice` command run in-process (`db` migrates and empties)."""
    from dentalvoice import cli
    from dentalvoice.config import get_settings

    env = {
        "DATABASE_URL": database_url,
        "PHI_ENCRYPTION_KEY": TEST_PHI_KEY,
        "GHL_WEBHOOK_SECRET": TEST_SECRET,
        "DATA_DIR": str(tmp_path / "data"),
        "LOG_LEVEL": "WARNING",
    }
    monkeypatch.chdir(tmp_path)  # away from any developer .env
    for name in ("REDIS_URL", "PUBLIC_BASE_URL", "PHI_BLIND_INDEX_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # Rich wraps tables to the terminal; CliRunner's is narrow.
    monkeypatch.setattr(cli.out, "width", 250)
    monkeypatch.setattr(cli.err, "width", 250)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def invoke(*args: str, input: str | None = None) -> tuple[int, str]:
    """Run `dentalvoice ARGS…` in-process; exit code and output."""
    from typer.testing import CliRunner

    from dentalvoice.cli import app

    result = CliRunner().invoke(app, list(args), input=input)
    return result.exit_code, result.output
