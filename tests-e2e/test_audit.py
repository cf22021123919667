"""Audit and operations through the gateway, on the whole stack: what an athlete does is in the trail
operators read, and so are the handouts of their tokens and the operators' reading itself; each
athlete downloads their own trail; every service's jobs are listed and an operator's run goes through
Kafka to the owning service and back; a message no consumer could process is listed and replayed."""

from __future__ import annotations

import random
import uuid
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from relay_devstack import Stack

from .conftest import create_super_admin
from .test_connections import bearer
from .test_identity import eventually, sign_in

PASSWORD = "correct horse battery staple"


async def operator(gateway: httpx.AsyncClient, stack: Stack) -> dict[str, str]:
    """A super_admin created with identity's command, signed in through the gateway: the CSRF header
    to send (the session cookie stays in the client)."""
    email = f"ops-{uuid.uuid4().hex[:8]}@relay.example"
    await create_super_admin(stack, email, PASSWORD)
    login = await gateway.post("/api/admin/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"X-CSRF-Token": login.json()["csrf_token"]}


async def logs(gateway: httpx.AsyncClient, **filters: Any) -> list[dict[str, Any]]:
    answer = await gateway.get("/api/admin/audit-logs", params={"limit": 500, **filters})
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["logs"]
    return found


async def test_the_trail_holds_what_athletes_did_and_who_read_it(
    gateway: httpx.AsyncClient, stack: Stack
) -> None:
    athlete = await sign_in(gateway, stack, random.randint(10**7, 10**8), firstname="Ada", lastname="Trail")
    other = await sign_in(gateway, stack, random.randint(10**7, 10**8), firstname="Bo", lastname="Other")
    user_id = athlete["user"]["id"]
    await operator(gateway, stack)

    async def registration() -> list[dict[str, Any]]:
        return [
            log
            for log in await logs(gateway, event_type="identity.user.registered", entity_type="user")
            if log["entity_id"] == user_id
        ]

    [registered] = await eventually(registration)
    assert registered["actor_type"] == "athlete" and registered["actor_id"] == user_id
    assert len(registered["trace_id"]) == 32 and len(registered["payload_digest"]) == 64

    async def token_handouts() -> list[dict[str, Any]]:
        # Signing in backfills the Strava history: ingestion obtains the athlete's token from connections.
        found = await logs(gateway, event_type="connections.access_token.issued", actor_type="system")
        return [log for log in found if log["entity_id"] == user_id]

    handouts = await eventually(token_handouts)
    assert handouts and {log["actor_id"] for log in handouts} == {"ingestion"}

    async def read_recorded() -> list[dict[str, Any]]:
        return await logs(gateway, event_type="audit.admin.data_accessed", actor_type="admin")

    assert await eventually(read_recorded), "the operator's read of the trail is not in the trail"

    trail = await gateway.get("/api/audit-trail", headers=bearer(athlete["token"]))
    assert trail.status_code == 200 and "attachment" in trail.headers["content-disposition"]
    mine = trail.json()["entries"]
    assert "identity.user.registered" in [entry["event_type"] for entry in mine]
    assert other["user"]["id"] not in trail.text
    assert (await gateway.get("/api/audit-trail")).status_code == 401
    gateway.cookies.clear()
    assert (await gateway.get("/api/admin/audit-logs")).status_code == 401


async def test_an_operator_runs_a_job_of_another_service_through_kafka(
    gateway: httpx.AsyncClient, stack: Stack
) -> None:
    csrf = await operator(gateway, stack)

    async def all_services_declared() -> dict[str, dict[str, Any]]:
        jobs = {job["id"]: job for job in (await gateway.get("/api/admin/jobs")).json()["jobs"]}
        services = {job["service"] for job in jobs.values()}
        return jobs if {"connections", "ingestion", "planning", "export", "audit"} <= services else {}

    jobs = await eventually(all_services_declared)
    assert jobs["planning.recalc-weekly"]["cron_expression"] == "*/5 * * * *"

    queued = await gateway.post("/api/admin/jobs/planning.recalc-weekly/run", headers=csrf)
    assert queued.status_code == 202, queued.text
    execution = queued.json()["execution"]
    assert execution["status"] == "queued"

    async def finished() -> dict[str, Any] | None:
        answer = await gateway.get("/api/admin/jobs/planning.recalc-weekly/executions")
        runs = {run["id"]: run for run in answer.json()["executions"]}
        run = runs.get(execution["id"])
        return run if run and run["status"] in ("success", "failed") else None

    run = await eventually(finished)
    assert run is not None and (run["status"], run["trigger"]) == ("success", "manual"), run
    listed = {job["id"]: job for job in (await gateway.get("/api/admin/jobs")).json()["jobs"]}
    assert listed["planning.recalc-weekly"]["stats"]["total_runs"] >= 1

    async def recorded() -> list[dict[str, Any]]:
        return await logs(gateway, event_type="planning.job.finished")

    entries = await eventually(recorded)
    assert any(e["trigger_worker"] == "recalc-weekly" and e["worker_status"] == "completed" for e in entries)


async def test_a_message_no_consumer_could_process_is_listed_and_replayed(
    gateway: httpx.AsyncClient, stack: Stack
) -> None:
    csrf = await operator(gateway, stack)
    topic = f"{stack.config.topic_prefix}relay.export.events"
    marker = uuid.uuid4().hex
    producer = AIOKafkaProducer(bootstrap_servers=stack.config.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, f'{{"broken": "{marker}"'.encode(), key=marker.encode())
    finally:
        await producer.stop()

    async def dead_lettered() -> list[dict[str, Any]]:
        answer = await gateway.get("/api/admin/dead-letters", params={"status": "pending", "limit": 200})
        assert answer.status_code == 200, answer.text
        return [
            letter
            for letter in answer.json()["dead_letters"]
            if letter["original_topic"] == topic and letter["consumer"] == "audit.trail"
        ]

    [letter] = await eventually(dead_lettered)
    assert letter["reason"].startswith("invalid envelope")
    detail = (await gateway.get(f"/api/admin/dead-letters/{letter['id']}")).json()
    assert marker in str(detail["message"])

    replayed = await gateway.post(f"/api/admin/dead-letters/{letter['id']}/replay", headers=csrf)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["dead_letter"]["status"] == "replayed"

    async def failed_again() -> list[dict[str, Any]]:
        return [
            found
            for found in await dead_lettered()
            if found["id"] != letter["id"]
            and (await gateway.get(f"/api/admin/dead-letters/{found['id']}"))
            .json()["headers"]
            .get("relay_replayed_from")
            == letter["id"]
        ]

    assert await eventually(failed_again), "the replayed message never reached its consumer again"
    assert await eventually(lambda: logs(gateway, event_type="audit.dead_letter.replayed"))
