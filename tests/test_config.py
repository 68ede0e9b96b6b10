"""Settings: environment names, and one clear line naming a bad variable."""

from __future__ import annotations

import pytest

from dentalvoice.config import ConfigurationError, load_settings


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://x"),
        ("GHL_WEBHOOK_ED25519_PUBLIC_KEY", "not a pem"),
        (
            "GHL_WEBHOOK_RSA_PUBLIC_KEY",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
        ),
        ("GHL_WEBHOOK_MAX_AGE_SECONDS", "0"),
        ("PUBLIC_BASE_URL", "not a url"),
        ("LOG_LEVEL", "LOUD"),
        ("TWILIO_ACCOUNT_SID", "AC123"),
        ("TWILIO_FROM_NUMBER", "555-0100"),
        ("DIALER_CALLS_PER_SECOND", "0"),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as info:
        load_settings(_env_file=None)
    message = str(info.value)
    assert message.startswith(f"invalid {name}:")
    assert "\n" not in message


def test_keys_of_the_wrong_kind_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from dentalvoice.config import GHL_ED25519_PUBLIC_KEY

    monkeypatch.setenv("GHL_WEBHOOK_RSA_PUBLIC_KEY", GHL_ED25519_PUBLIC_KEY)
    with pytest.raises(ConfigurationError, match="not an RSA public key"):
        load_settings(_env_file=None)


def test_environment_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("CONSENT_FIELD_KEYS", "Consent, tcpa_ok")
    monkeypatch.setenv("GHL_WEBHOOK_SECRET", "s3cret")
    settings = load_settings(_env_file=None)
    assert settings.effective_database_url == "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    assert settings.consent_field_keys == ("consent", "tcpa_ok")
    assert settings.ghl_webhook_secret is not None
    assert "s3cret" not in repr(settings)
    assert not settings.is_sqlite


def test_default_is_a_sqlite_file_in_the_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATA_DIR", "/tmp/dv-data")
    settings = load_settings(_env_file=None)
    assert settings.effective_database_url == "sqlite+aiosqlite:////tmp/dv-data/dentalvoice.db"
    assert settings.is_sqlite


def test_a_simulated_clock_needs_an_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMULATED_CLOCK_START", "2026-12-09T15:00:00+00:00")
    with pytest.raises(ConfigurationError, match="SIMULATED_CLOCK_START needs TWILIO_API_BASE_URL"):
        load_settings(_env_file=None)

    monkeypatch.setenv("TWILIO_API_BASE_URL", "http://127.0.0.1:8123")
    settings = load_settings(_env_file=None)
    assert settings.simulated_clock_start is not None


def test_twilio_is_configured_only_with_account_token_and_public_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "token")
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    assert not load_settings(_env_file=None).twilio_configured
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://agent.example.test")
    assert load_settings(_env_file=None).twilio_configured
