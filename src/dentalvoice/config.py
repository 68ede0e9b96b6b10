"""The one place that reads the environment: typed settings for every part of dentalvoice."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import (
    AliasChoices,
    AnyHttpUrl,
    AwareDatetime,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from dentalvoice.locations.schemas import e164

# GHL's RSA key for the legacy `x-wh-signature` header, as published in
# docs/oauth/WebhookAuthentication.md of GoHighLevel/highlevel-api-docs.
GHL_RSA_PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAokvo/r9tVgcfZ5DysOSC
Frm602qYV0MaAiNnX9O8KxMbiyRKWeL9JpCpVpt4XHIcBOK4u3cLSqJGOLaPuXw6
dO0t6Q/ZVdAV5Phz+ZtzPL16iCGeK9po6D6JHBpbi989mmzMryUnQJezlYJ3DVfB
csedpinheNnyYeFXolrJvcsjDtfAeRx5ByHQmTnSdFUzuAnC9/GepgLT9SM4nCpv
uxmZMxrJt5Rw+VUaQ9B8JSvbMPpez4peKaJPZHBbU3OdeCVx5klVXXZQGNHOs8gF
3kvoV5rTnXV0IknLBXlcKKAQLZcY/Q9rG6Ifi9c+5vqlvHPCUJFT5XUGG5RKgOKU
J062fRtN+rLYZUV+BjafxQauvC8wSWeYja63VSUruvmNj8xkx2zE/Juc+yjLjTXp
IocmaiFeAO6fUtNjDeFVkhf5LNb59vECyrHD2SQIrhgXpO4Q3dVNA5rw576PwTzN
h/AMfHKIjE4xQA1SZuYJmNnmVZLIZBlQAF9Ntd03rfadZ+yDiOXCCs9FkHibELhC
HULgCsnuDJHcrGNd5/Ddm5hxGQ0ASitgHeMZ0kcIOwKDOzOU53lDza6/Y09T7sYJ
PQe7z0cvj7aE4B+Ax1ZoZGPzpJlZtGXCsu9aTEGEnKzmsFqwcSsnw3JB31IGKAyk
T1hhTiaCeIY/OwwwNUY2yvcCAwEAAQ==
-----END PUBLIC KEY-----
"""

# GHL's Ed25519 key for `x-ghl-signature`. Quoted by many public integrations as the key from
# GHL's Webhook Integration Guide; confirm it in the app settings page before production.
GHL_ED25519_PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg=
-----END PUBLIC KEY-----
"""

DEFAULT_CONSENT_KEYS = (
    "consent",
    "consent_text",
    "consent_at",
    "consent_timestamp",
    "tcpa_consent",
    "consent_form",
    "consent_page",
)


def _pem(value: str) -> str:
    # Environment files often carry PEMs on one line with literal "\n" escapes.
    return value.replace("\\n", "\n").strip() + "\n"


class Settings(BaseSettings):
    """Process-wide configuration; per-clinic behaviour lives in `locations`, not here."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    data_dir: Path = Field(
        default=Path(".dentalvoice"),
        description="Where the embedded defaults keep their files (SQLite database, local key).",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; defaults to a SQLite file in DATA_DIR.",
    )
    redis_url: str | None = None
    public_base_url: AnyHttpUrl | None = None

    phi_encryption_key: SecretStr | None = Field(
        default=None,
        description="Base64 32-byte AES key, or a comma list `kid:key,...`; the first encrypts.",
    )
    phi_blind_index_key: SecretStr | None = None

    ghl_webhook_secret: SecretStr | None = None
    ghl_webhook_ed25519_public_key: str = GHL_ED25519_PUBLIC_KEY
    ghl_webhook_rsa_public_key: str = GHL_RSA_PUBLIC_KEY
    ghl_webhook_max_age_seconds: Annotated[int, Field(ge=1, le=86_400)] = 300
    webhook_max_body_bytes: Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)] = 1024 * 1024
    consent_field_keys: Annotated[tuple[str, ...], NoDecode] = DEFAULT_CONSENT_KEYS

    # GHL API v2 client (dentalvoice.crm). Tokens per clinic live in the database, not here.
    ghl_api_base_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://services.leadconnectorhq.com"),
        description="GHL's API host, or the GHL emulator's.",
    )
    ghl_connect_timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    ghl_read_timeout_s: Annotated[float, Field(gt=0, le=120)] = 15.0
    ghl_write_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    ghl_pool_timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    ghl_custom_field_value_key: Literal["field_value", "fieldValue"] = Field(
        default="field_value",
        description="Key of a custom-field value in contact updates (v2 documents field_value).",
    )
    ghl_rate_limit_requests: Annotated[int, Field(ge=1, le=1000)] = 100
    ghl_rate_limit_window_s: Annotated[float, Field(gt=0, le=3600)] = 10.0
    ghl_rate_limit_max_wait_s: Annotated[float, Field(ge=0, le=300)] = Field(
        default=10.0, description="Longest wait for a local rate-limit slot (background writes)."
    )
    ghl_client_id: str | None = Field(default=None, description="The GHL OAuth app's client id.")
    ghl_client_secret: SecretStr | None = None
    ghl_oauth_redirect_uri: AnyHttpUrl | None = None
    ghl_token_refresh_margin_s: Annotated[int, Field(ge=0, le=3600)] = Field(
        default=300, description="Renew an OAuth access token this long before it expires."
    )
    crm_writeback_enabled: bool = Field(
        default=True,
        description="Deliver the CRM outbox (call results to GHL) from serve and worker.",
    )

    twilio_account_sid: str | None = Field(
        default=None, pattern=r"^AC[0-9a-fA-F]{32}$", description="The Twilio account (AC…)."
    )
    twilio_auth_token: SecretStr | None = None
    twilio_api_base_url: AnyHttpUrl | None = Field(
        default=None, description="Send Twilio REST requests here instead (the emulator)."
    )
    twilio_from_number: str | None = Field(
        default=None, description="Caller id for clinics without their own number (E.164)."
    )
    twilio_timeout_s: Annotated[float, Field(gt=0, le=60)] = 10.0
    ring_timeout_s: Annotated[int, Field(ge=5, le=60)] = 25

    simulated_clock_start: AwareDatetime | None = Field(
        default=None,
        description=(
            "Decide calling hours by a clock that starts at this ISO 8601 moment and runs at "
            "real speed (demos and benchmarks against the emulators, at any hour). Refused "
            "unless TWILIO_API_BASE_URL points at an emulator."
        ),
    )

    voice_pipeline: bool = Field(
        default=True,
        description=(
            "Hold the voice conversation on answered calls; false hangs up once AMD says a "
            "person answered (a dial-only mode for telephony tests and load runs)."
        ),
    )

    dialer_enabled: bool = Field(
        default=True, description="Run the dial worker inside `serve` (needs Twilio settings)."
    )
    dialer_calls_per_second: Annotated[float, Field(gt=0, le=100)] = 1.0
    dialer_location_concurrency: Annotated[int, Field(ge=1, le=100)] = 2
    dialer_lease_s: Annotated[int, Field(ge=5, le=3600)] = 60
    dialer_batch: Annotated[int, Field(ge=1, le=500)] = 20

    llm_provider: Literal["scripted", "openai"] = "scripted"
    openai_api_key: SecretStr | None = None
    openai_model: str = "gpt-4o"
    openai_base_url: AnyHttpUrl | None = None
    llm_turn_timeout_s: Annotated[float, Field(gt=0, le=60)] = 8.0

    stt_provider: Literal["local", "openai"] = "local"
    stt_model: str | None = Field(
        default=None,
        description=(
            "local: a CTranslate2 Whisper directory (None: the bundled tiny.en); "
            "openai: a transcription model (None: whisper-1). OpenAI uses OPENAI_BASE_URL."
        ),
    )
    stt_timeout_s: Annotated[float, Field(gt=0, le=60)] = Field(
        default=5.0, description="openai: one transcription request's budget (one retry after)."
    )
    stt_window_s: Annotated[int, Field(ge=10, le=30)] = Field(
        default=10,
        description=(
            "local: the shortest audio window Whisper encodes (30 is Whisper's own). Shorter is "
            "faster (10 s: ~0.25x the encoder time of 30 s) and misses a few more words."
        ),
    )
    tts_provider: Literal["local", "polly"] = "local"
    tts_voice: str | None = Field(
        default=None,
        description="local: a Piper .onnx voice (None: joe-medium); polly: a VoiceId (Joanna).",
    )
    tts_timeout_s: Annotated[float, Field(gt=0, le=60)] = Field(
        default=5.0, description="polly: connect and read budget of one synthesis request."
    )
    aws_region: str | None = Field(
        default=None,
        validation_alias=AliasChoices("aws_region", "aws_default_region"),
        description="Polly's region (AWS_REGION or AWS_DEFAULT_REGION; None: us-east-1).",
    )
    polly_endpoint_url: AnyHttpUrl | None = Field(
        default=None, description="Send Polly requests here instead (the emulator)."
    )

    log_level: Literal["TRACE", "DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            # Accept the URL a PostgreSQL user would paste and use the async driver.
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB")
        return value

    @field_validator("twilio_from_number")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        return e164(value)

    @field_validator("ghl_webhook_ed25519_public_key")
    @classmethod
    def _ed25519_pem(cls, value: str) -> str:
        pem = _pem(value)
        try:
            key = load_pem_public_key(pem.encode())
        except ValueError as exc:
            raise ValueError("not a PEM public key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return pem

    @field_validator("ghl_webhook_rsa_public_key")
    @classmethod
    def _rsa_pem(cls, value: str) -> str:
        pem = _pem(value)
        try:
            key = load_pem_public_key(pem.encode())
        except ValueError as exc:
            raise ValueError("not a PEM public key") from exc
        if not isinstance(key, RSAPublicKey):
            raise ValueError("not an RSA public key")
        return pem

    @field_validator("consent_field_keys", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().lower() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _simulated_clock_only_with_an_emulator(self) -> Settings:
        if self.simulated_clock_start is not None and self.twilio_api_base_url is None:
            raise ValueError(
                "SIMULATED_CLOCK_START needs TWILIO_API_BASE_URL (an emulator): real calls "
                "must follow the real clock"
            )
        return self

    @model_validator(mode="after")
    def _openai_stt_needs_a_key(self) -> Settings:
        if self.stt_provider == "openai" and self.openai_api_key is None:
            raise ValueError("STT_PROVIDER=openai needs OPENAI_API_KEY")
        return self

    @model_validator(mode="after")
    def _ghl_oauth_app_is_complete(self) -> Settings:
        if (self.ghl_client_id is None) != (self.ghl_client_secret is None):
            raise ValueError("GHL_CLIENT_ID and GHL_CLIENT_SECRET go together")
        return self

    @property
    def effective_database_url(self) -> str:
        """The configured database, or the SQLite file of the embedded default."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'dentalvoice.db').as_posix()}"

    @property
    def twilio_configured(self) -> bool:
        """Whether calls can be placed: an account, its token and a public URL for callbacks."""
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.public_base_url)

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite default (or another SQLite file)."""
        return self.effective_database_url.startswith("sqlite")


class ConfigurationError(Exception):
    """A setting has a value dentalvoice cannot start with; the message names the variable."""


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment (and `.env`), turning errors into one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise ConfigurationError(f"invalid {name}: {first['msg']}") from None


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return load_settings()
