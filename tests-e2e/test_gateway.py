"""What the mobile team and operators see at the gateway."""

import httpx
import pytest

from relay_devstack import SERVICES


async def test_healthz_reports_every_service_ready(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert set(body["services"]) == set(SERVICES)
    for service, state in body["services"].items():
        assert state["status"] == "ready", service
        assert state["detail"]["checks"] == {"database": "ok", "kafka": "ok"}


@pytest.mark.parametrize("service", SERVICES)
async def test_each_services_openapi_document_is_published_at_the_gateway(
    gateway: httpx.AsyncClient, service: str
) -> None:
    document = (await gateway.get(f"/docs/{service}/openapi.json")).json()
    assert document["info"]["title"] == f"Relay {service}"
    page = await gateway.get(f"/docs/{service}/")
    assert page.status_code == 200
    assert "swagger" in page.text.lower()


async def test_the_docs_index_links_every_service(gateway: httpx.AsyncClient) -> None:
    page = (await gateway.get("/docs/")).text
    for service in SERVICES:
        assert f"/docs/{service}/" in page


async def test_the_strava_webhook_paths_of_the_mobile_contract_reach_ingestion(
    gateway: httpx.AsyncClient,
) -> None:
    document = (await gateway.get("/docs/ingestion/openapi.json")).json()
    assert {"/api/webhook/strava", "/api/webhooks/strava"} <= set(document["paths"])
    check = await gateway.get(
        "/api/webhook/strava",
        params={
            "hub.mode": "subscribe",
            "hub.challenge": "15f7d1a91c1f40f8",
            "hub.verify_token": "e2e-verify-token-7c1d",
        },
    )
    assert check.json() == {"hub.challenge": "15f7d1a91c1f40f8"}


async def test_an_unknown_api_path_answers_in_the_error_envelope(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/api/nothing/here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_what_nginx_refuses_before_any_service_answers_in_the_error_envelope(
    gateway: httpx.AsyncClient,
) -> None:
    trace = await gateway.request("TRACE", "/api/auth/me")
    long_uri = await gateway.get("/api/activities", params={"sport": "x" * 9000})
    big_header = await gateway.get("/api/activities", headers={"X-Padding": "x" * 9000})

    answers = [
        (r.status_code, r.headers["content-type"], r.json()["error"]["code"])
        for r in (trace, long_uri, big_header)
    ]
    assert answers == [
        (405, "application/json", "method_not_allowed"),
        (414, "application/json", "uri_too_long"),
        (400, "application/json", "bad_request"),
    ]


async def test_the_request_id_is_kept_end_to_end(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/api/webhook/strava", headers={"X-Request-ID": "req-e2e-42"})
    assert response.headers["x-request-id"] == "req-e2e-42"
    generated = await gateway.get("/healthz")
    assert len(generated.headers["x-request-id"]) >= 16


async def test_a_malformed_webhook_is_refused_in_the_envelope_and_stores_nothing(
    gateway: httpx.AsyncClient, databases: object
) -> None:
    before = await databases.fetchval("ingestion", "SELECT count(*) FROM provider_notifications")  # type: ignore[attr-defined]
    response = await gateway.post("/api/webhook/strava", content=b'{"object_type": "activity", "object_id": ')
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    response = await gateway.post("/api/webhook/strava", json={"object_type": "activity", "object_id": "abc"})
    assert response.status_code == 400
    after = await databases.fetchval("ingestion", "SELECT count(*) FROM provider_notifications")  # type: ignore[attr-defined]
    assert after == before
