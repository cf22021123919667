"""The audit trail on the real PostgreSQL: entries chained in order, tampering found at its first broken
link, retention keeping the chain verifiable, and the trail read by operators (filtered, paginated,
their reads audited) and downloaded by each athlete (their own entries only)."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.chain import Verification
from audit.cli import main
from audit.models import AuditEntry
from audit.service import prune_expired, record_events, verify_chain
from relay_contracts import Envelope
from relay_platform.outbox import OutboxMessage

from .conftest import AuditApi

pytestmark = pytest.mark.integration

Deliver = Callable[[Envelope], Awaitable[None]]
T0 = datetime(2026, 3, 12, 10, 30, tzinfo=UTC)
LOGS = "/api/admin/audit-logs"


def event(event_type: str, subject: str, at: datetime = T0, **data: Any) -> Envelope:
    return Envelope(
        type=event_type, producer=event_type.split(".")[0], subject=subject, occurred_at=at, data=data
    )


def day_of(user_id: str, start: datetime = T0) -> list[Envelope]:
    athlete = {"type": "athlete", "id": user_id}
    return [
        event("identity.profile.updated", user_id, start, user_id=user_id, actor=athlete),
        event(
            "planning.program.generated",
            user_id,
            start + timedelta(minutes=1),
            program_id=f"prog-{user_id}",
            actor=athlete,
        ),
        event(
            "planning.program.recalculated",
            user_id,
            start + timedelta(minutes=2),
            program_id=f"prog-{user_id}",
            worker="recalc-weekly",
            worker_status="completed",
        ),
        event("export.workout.exported", user_id, start + timedelta(minutes=3), workout_id=f"w-{user_id}"),
    ]


async def record(sessionmaker: async_sessionmaker[AsyncSession], envelopes: list[Envelope]) -> int:
    async with sessionmaker() as session, session.begin():
        return await record_events(session, envelopes)


async def verification(sessionmaker: async_sessionmaker[AsyncSession]) -> Verification:
    async with sessionmaker() as session:
        return await verify_chain(session)


async def tamper(sessionmaker: async_sessionmaker[AsyncSession], statement: Any) -> None:
    async with sessionmaker() as session, session.begin():
        await session.exec(statement)


async def test_a_polls_events_are_appended_in_order_and_the_chain_verifies(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    told = day_of("usr_a") + day_of("usr_b")

    assert await record(sessionmaker, told[:5]) == 5
    assert await record(sessionmaker, told) == 3  # a poll delivered again: only what is new

    async with sessionmaker() as session:
        entries = list(await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))))
    assert [e.event_id for e in entries] == [e.id for e in told]
    assert len({e.chain_hash for e in entries}) == len(entries)
    checked = await verification(sessionmaker)
    assert (checked.intact, checked.entries, checked.head) == (True, 8, entries[-1].chain_hash)


async def test_a_changed_entry_is_reported_as_the_first_broken_link(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await record(sessionmaker, day_of("usr_a") + day_of("usr_b"))
    async with sessionmaker() as session:
        seqs = list(await session.exec(select(AuditEntry.seq).order_by(col(AuditEntry.seq))))

    await tamper(
        sessionmaker, update(AuditEntry).where(col(AuditEntry.seq) == seqs[5]).values(actor_type="admin")
    )

    checked = await verification(sessionmaker)
    assert checked.broken is not None
    assert (checked.broken.seq, checked.broken.reason, checked.entries) == (seqs[5], "content_changed", 6)


async def test_a_removed_entry_breaks_the_link_of_the_next_one(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await record(sessionmaker, day_of("usr_a") + day_of("usr_b"))
    async with sessionmaker() as session:
        seqs = list(await session.exec(select(AuditEntry.seq).order_by(col(AuditEntry.seq))))

    await tamper(sessionmaker, delete(AuditEntry).where(col(AuditEntry.seq) == seqs[3]))

    checked = await verification(sessionmaker)
    assert checked.broken is not None and (checked.broken.seq, checked.broken.reason) == (
        seqs[4],
        "link_broken",
    )


async def test_an_entry_emptied_outside_an_erasure_is_found(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await record(sessionmaker, day_of("usr_a"))

    await tamper(
        sessionmaker,
        update(AuditEntry)
        .where(col(AuditEntry.event_type) == "planning.program.generated")
        .values(event_type=None, entity_id=None, redacted_at=T0),
    )

    checked = await verification(sessionmaker)
    assert checked.broken is not None and checked.broken.reason == "redactions_unaccounted"


async def test_pruning_old_entries_keeps_the_rest_of_the_chain_verifiable(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await record(sessionmaker, day_of("usr_a"))
    await tamper(sessionmaker, update(AuditEntry).values(recorded_at=T0))  # recorded long ago
    await record(sessionmaker, day_of("usr_b"))

    async with sessionmaker() as session, session.begin():
        pruned = await prune_expired(session, T0 + timedelta(days=1), datetime.now(UTC))

    assert pruned == 4
    checked = await verification(sessionmaker)
    assert (checked.intact, checked.entries) == (True, 4), checked.summary()
    await tamper(sessionmaker, text("UPDATE audit_chain_anchor SET chain_hash = repeat('1', 64)"))
    assert not (await verification(sessionmaker)).intact


async def test_operators_read_the_trail_filtered_newest_first_with_the_seeds_fields(
    audit_api: AuditApi, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await record(sessionmaker, day_of("usr_a") + day_of("usr_b", T0 + timedelta(hours=1)))
    headers = audit_api.identity.admin_headers("adm_1", "read_only")

    answer = await audit_api.client.get(LOGS, params={"entity_type": "program", "limit": 2}, headers=headers)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["pagination"] == {"total": 4, "limit": 2, "offset": 0}
    assert [log["event_type"] for log in body["logs"]] == [
        "planning.program.recalculated",
        "planning.program.generated",
    ]
    newest = body["logs"][0]
    assert {
        k: newest[k]
        for k in ("entity_type", "entity_id", "actor_type", "actor_id", "trigger_worker", "worker_status")
    } == {
        "entity_type": "program",
        "entity_id": "prog-usr_b",
        "actor_type": "system",
        "actor_id": None,
        "trigger_worker": "recalc-weekly",
        "worker_status": "completed",
    }
    assert newest["id"].startswith("log_") and newest["timestamp"] == "2026-03-12T11:32:00Z"

    window = {"since": "2026-03-12T10:30:30Z", "until": "2026-03-12T11:00:00Z", "actor_type": "system"}
    answer = await audit_api.client.get(LOGS, params=window, headers=headers)
    assert [log["event_type"] for log in answer.json()["logs"]] == [
        "export.workout.exported",
        "planning.program.recalculated",
    ]

    page = await audit_api.client.get(LOGS, params={"limit": 3, "offset": 6}, headers=headers)
    assert [log["event_type"] for log in page.json()["logs"]] == [
        "planning.program.generated",
        "identity.profile.updated",
    ]


async def test_every_read_of_the_trail_is_itself_audited(
    audit_api: AuditApi, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await record(sessionmaker, day_of("usr_a"))

    await audit_api.client.get(
        LOGS,
        params={"event_type": "identity.profile.updated"},
        headers=audit_api.identity.admin_headers("adm_7", "support"),
    )

    async with sessionmaker() as session:
        [staged] = await session.exec(
            select(OutboxMessage).where(col(OutboxMessage.event_type) == "audit.admin.data_accessed")
        )
    data = staged.payload["data"]
    assert (data["admin_id"], data["role"], data["path"], data["records"]) == ("adm_7", "support", LOGS, 1)
    assert data["query"] == {"event_type": "identity.profile.updated"}


async def test_only_operators_read_the_trail_and_bad_filters_are_explained(audit_api: AuditApi) -> None:
    anonymous = await audit_api.client.get(LOGS)
    athlete = await audit_api.client.get(LOGS, headers=audit_api.identity.bearer("usr_a"))
    admin = audit_api.identity.admin_headers("adm_1", "read_only")
    naive = await audit_api.client.get(LOGS, params={"since": "2026-03-12T10:00:00"}, headers=admin)
    reversed_window = await audit_api.client.get(
        LOGS, params={"since": "2026-03-13T00:00:00Z", "until": "2026-03-12T00:00:00Z"}, headers=admin
    )
    too_many = await audit_api.client.get(LOGS, params={"limit": 5000}, headers=admin)

    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "unauthorized")
    assert athlete.status_code == 401
    assert (naive.status_code, naive.json()["error"]["details"]["field"]) == (400, "since")
    assert (reversed_window.status_code, reversed_window.json()["error"]["details"]["field"]) == (
        400,
        "until",
    )
    assert (too_many.status_code, too_many.json()["error"]["code"]) == (400, "validation_error")


async def test_an_athlete_downloads_their_own_trail_and_nobody_elses(
    audit_api: AuditApi, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    webhook = event("ingestion.webhook.received", "strava:777", T0 - timedelta(minutes=5), webhook_id="wh-1")
    await record(sessionmaker, [webhook, *day_of("usr_a"), *day_of("usr_b")])

    answer = await audit_api.client.get(
        "/api/audit-trail",
        headers={"Authorization": f"Bearer {audit_api.identity.access_token('usr_a', strava_id='777')}"},
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"].startswith('attachment; filename="relay-audit-trail-')
    trail = answer.json()
    assert trail["athlete_id"] == "usr_a"
    assert [entry["event_type"] for entry in trail["entries"]] == ["ingestion.webhook.received"] + [
        e.type for e in day_of("usr_a")
    ]
    assert "usr_b" not in answer.text and "prog-usr_b" not in answer.text
    assert (await audit_api.client.get("/api/audit-trail")).status_code == 401


async def test_the_verify_command_reports_the_first_broken_link_and_fails(
    sessionmaker: async_sessionmaker[AsyncSession],
    fresh_database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AUDIT_DATABASE_URL", fresh_database)
    await record(sessionmaker, day_of("usr_a"))

    assert await asyncio.to_thread(main, ["verify"]) == 0
    assert capsys.readouterr().out.startswith("intact: 4 entries (0 erased)")

    await tamper(
        sessionmaker,
        update(AuditEntry)
        .where(col(AuditEntry.event_type) == "export.workout.exported")
        .values(entity_id="w-other"),
    )
    async with sessionmaker() as session:
        seq = (await session.exec(select(func.max(AuditEntry.seq)))).one()

    assert await asyncio.to_thread(main, ["verify"]) == 1
    assert capsys.readouterr().out.startswith(
        f"broken at entry {seq} (content_changed) after checking 4 entries"
    )
