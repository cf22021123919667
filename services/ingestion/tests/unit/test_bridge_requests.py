"""What the bridge endpoint decides before it needs the database: the key's shape and the body."""

import secrets
from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest

from ingestion.config import Settings
from ingestion.endpoints.webhooks import router
from ingestion.service import API_KEY_FORMAT, api_key_digest, read_bridge_payload, verify_api_key
from relay_platform.db import create_engine, create_sessionmaker
from relay_platform.errors import InvalidInput, Unauthorized
from relay_platform.service import create_service_app

# Nothing listens there: a request that reached the database would fail with a 500.
UNREACHABLE_DATABASE = "postgresql+asyncpg://relay:relay@127.0.0.1:9/none"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """The app without its lifespan (nothing connects to Kafka or Redis), on a database nobody serves."""
    settings = Settings(
        database_url=UNREACHABLE_DATABASE,
        strava_verify_token="verify-token",
        connections_token="connections-token",
        rate_limit_enabled=False,
        worker_enabled=False,
    )
    app = create_service_app(service="ingestion", settings=settings, routers=[router])
    engine = create_engine(UNREACHABLE_DATABASE)
    app.state.runtime = SimpleNamespace(settings=settings, sessionmaker=create_sessionmaker(engine))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingestion") as http:
        yield http
    await engine.dispose()


def test_keys_are_qt_and_43_url_safe_base64_characters() -> None:
    assert API_KEY_FORMAT.fullmatch("qt_" + secrets.token_urlsafe(32))
    for wrong in ("qt_short", "qx_" + "a" * 43, "qt_" + "a" * 44, "qt_" + "a" * 42 + "=", "qt_" + "+" * 43):
        assert API_KEY_FORMAT.fullmatch(wrong) is None


def test_a_key_is_known_by_the_hex_sha256_of_the_whole_key() -> None:
    # The FIPS 180-2 test vector of SHA-256.
    assert api_key_digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.parametrize("presented", [None, "", "qt_short", "Bearer qt_" + "a" * 43])
async def test_a_missing_or_malformed_key_is_refused_without_a_lookup(presented: str | None) -> None:
    with pytest.raises(Unauthorized):
        await verify_api_key(None, presented)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("headers", "message"),
    [({}, "Missing API key"), ({"X-API-Key": "qt_not-a-key"}, "Invalid or revoked API key")],
)
async def test_the_endpoint_answers_401_in_the_error_envelope_before_touching_the_database(
    client: httpx.AsyncClient, headers: dict[str, str], message: str
) -> None:
    response = await client.post("/api/webhooks/ingest", json={"data": {}}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.json()["error"]["message"] == message


async def test_the_endpoint_documents_its_api_key_and_its_json_object_body(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/api/webhooks/ingest"]["post"]
    assert "202" in operation["responses"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["type"] == "object"
    [scheme] = document["components"]["securitySchemes"].values()
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-API-Key")


def test_a_health_auto_export_document_is_read_as_it_is() -> None:
    body = b'{"data": {"metrics": [{"name": "step_count", "data": [{"qty": 8123.5}]}], "workouts": []}}'
    assert read_bridge_payload(body) == {
        "data": {"metrics": [{"name": "step_count", "data": [{"qty": 8123.5}]}], "workouts": []}
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b"[]", "not_an_object"),
        (b"null", "not_an_object"),
        (b'{"qty": Infinity}', "invalid_json"),
        (b'{"qty": NaN}', "invalid_json"),
        (b'{"na\\u0000me": 1}', "nul_character"),
        (b'{"a": [{"b": "\\u0000"}]}', "nul_character"),
        (b"[" * 100_000 + b"]" * 100_000, "invalid_json"),
    ],
)
def test_a_body_that_postgresql_cannot_store_as_an_object_is_invalid_input(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        read_bridge_payload(body)
    assert refused.value.details["reason"] == reason
