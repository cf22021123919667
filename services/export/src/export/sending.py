"""Sending queued exports: each is claimed by one sender, pushed (created, updated, replaced or removed)
outside any transaction, read back where the provider allows it, and its outcome recorded with its
event. Transient failures come back later, each wait twice the previous; a retry after an attempt that
got no answer first looks for the workout that attempt may have created, so none is made twice."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from export import repository
from export.config import Settings
from export.models import WorkoutExport
from export.providers.base import (
    NotCreated,
    Outgoing,
    ProviderUnavailable,
    Pushed,
    TokenRejected,
    WorkoutPusher,
    WorkoutRefused,
)
from export.targets import device_workout
from export.tokens import Connections, ConnectionsUnavailable, NotConnected
from relay_contracts.catalog import (
    EXPORT_WORKOUT_EXPORTED,
    EXPORT_WORKOUT_FAILED,
    EXPORT_WORKOUT_REMOVED,
    EXPORT_WORKOUT_VERIFIED,
)
from relay_contracts.envelope import Envelope
from relay_contracts.events.common import Actor
from relay_contracts.events.export import (
    WorkoutExported,
    WorkoutExportFailed,
    WorkoutRemoved,
    WorkoutVerified,
)
from relay_contracts.workouts import StructuredWorkout
from relay_platform.logging import get_logger
from relay_platform.outbox import add_events
from relay_platform.telemetry import continued_span

log = get_logger(__name__)

SYSTEM = Actor(type="system")
STALE_SENDING = timedelta(minutes=5)
"""A claim older than this was left by a sender that stopped: its export is claimed again."""


PROVIDER_FACTS = (
    "provider_workout_id",
    "provider_schedule_id",
    "pushed_digest",
    "pushed_date",
    "pushed_thresholds",
    "exported_at",
    "verified_at",
    "in_doubt",
)
"""What an attempt learnt of the provider's side: kept whatever else happened to the export meanwhile."""
ATTEMPT_STATE = ("status", "attempts", "next_attempt_at", "failure_reason", "last_error")


class Refused(Exception):
    """A final failure: not worth another attempt until the athlete does something."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class Outcome:
    """What one attempt came to: the export's new state, and the events that tell it."""

    events: list[Envelope]


class SenderMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.pushes = Counter(
            "relay_export_pushes_total",
            "Attempts to push a workout to a provider, by outcome.",
            ["provider", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "relay_export_push_duration_seconds",
            "Time one push (with its read-back) took.",
            ["provider"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )


class Sender:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        connections: Connections,
        pushers: dict[str, WorkoutPusher],
        metrics: SenderMetrics,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._connections = connections
        self._pushers = pushers
        self._metrics = metrics

    async def send_due(self) -> int:
        """Sends the exports due now; returns how many were attempted."""
        now = datetime.now(UTC)
        async with self._sessionmaker() as session, session.begin():
            claimed = list(
                await repository.claim_due_exports(
                    session, now, now - STALE_SENDING, self._settings.send_batch_size
                )
            )
        for export in claimed:
            await self._send(export)
        return len(claimed)

    async def _send(self, export: WorkoutExport) -> None:
        """One attempt, in the trace of what queued the export."""
        attributes = {
            "relay.provider": export.provider,
            "relay.export_id": export.id,
            "relay.action": export.action,
        }
        with continued_span("export send workout", export.traceparent, attributes):
            await self._send_traced(export)

    async def _send_traced(self, export: WorkoutExport) -> None:
        started = datetime.now(UTC)
        claimed_at = export.updated_at
        try:
            outcome = await self._attempt(export)
            label = export.status
        except Refused as refused:
            outcome = self._failed(export, refused.reason, str(refused))
            label = "refused"
        except (ProviderUnavailable, ConnectionsUnavailable, NotCreated) as problem:
            outcome = self._setback(export, problem)
            label = "retried" if export.status == "queued" else "failed"
        except Exception as error:
            # Unexpected: kept and tried again, never dropped.
            log.exception("export_attempt_crashed", export_id=export.id)
            outcome = self._setback(export, error)
            label = "crashed"
        self._metrics.pushes.labels(provider=export.provider, outcome=label).inc()
        self._metrics.duration.labels(provider=export.provider).observe(
            (datetime.now(UTC) - started).total_seconds()
        )
        async with self._sessionmaker() as session, session.begin():
            await self._record(session, export, claimed_at)
            await add_events(session, outcome.events, topic_prefix=self._settings.kafka_topic_prefix)
        log.info(
            "export_attempted",
            export_id=export.id,
            provider=export.provider,
            action=export.action,
            status=export.status,
            attempts=export.attempts,
            reason=export.failure_reason,
        )

    async def _record(self, session: AsyncSession, export: WorkoutExport, claimed_at: datetime) -> None:
        """Stores what the attempt did. What the provider now holds is always kept; the export's state
        only if nobody queued it again meanwhile (the plan changed during the push: it goes again)."""
        current = await repository.get_export(session, export.id, for_update=True)
        if current is None:
            return
        for name in PROVIDER_FACTS:
            setattr(current, name, getattr(export, name))
        if current.updated_at == claimed_at:
            for name in ATTEMPT_STATE:
                setattr(current, name, getattr(export, name))
        current.updated_at = datetime.now(UTC)
        session.add(current)

    async def _attempt(self, export: WorkoutExport) -> Outcome:
        pusher = self._pushers[export.provider]
        try:
            issued = await self._connections.access_token(export.user_id, export.provider)
        except NotConnected as unusable:
            reason = "reauth_required" if unusable.code == "reauth_required" else "not_connected"
            raise Refused(
                reason, f"The {export.provider} connection cannot be used ({unusable.code})"
            ) from unusable
        try:
            if export.action == "remove":
                return await self._remove(export, pusher, issued.access_token)
            return await self._push(export, pusher, issued.access_token)
        except TokenRejected as rejected:
            await self._connections.report_rejected(issued.connection_id, export.provider, rejected.reason)
            raise Refused("reauth_required", str(rejected)) from rejected
        except WorkoutRefused as refused:
            raise Refused(refused.reason, str(refused)) from refused

    async def _remove(self, export: WorkoutExport, pusher: WorkoutPusher, token: str) -> Outcome:
        events = []
        if export.provider_workout_id is not None:
            await pusher.remove(token, Pushed(export.provider_workout_id, export.provider_schedule_id))
            events.append(
                EXPORT_WORKOUT_REMOVED.envelope(
                    WorkoutRemoved(
                        export_id=export.id,
                        session_id=export.session_id,
                        user_id=export.user_id,
                        provider=export.provider,  # type: ignore[arg-type]
                        provider_workout_id=export.provider_workout_id,
                        removed_at=datetime.now(UTC),
                        actor=SYSTEM,
                    ),
                    subject=export.user_id,
                )
            )
        export.status, export.provider_workout_id, export.provider_schedule_id = "removed", None, None
        export.pushed_digest = export.pushed_date = export.pushed_thresholds = None
        export.in_doubt = False
        return Outcome(events)

    async def _push(self, export: WorkoutExport, pusher: WorkoutPusher, token: str) -> Outcome:
        async with self._sessionmaker() as session:
            planned = await repository.get_planned_session(session, export.session_id)
            profile = await repository.get_profile(session, export.user_id)
        if planned is None:
            raise Refused("not_created", "The session is no longer in the plan")
        workout, thresholds = device_workout(planned, profile)
        digest = content_digest(workout, planned.scheduled_date.isoformat())
        if export.provider_workout_id is not None and export.pushed_digest == digest:
            export.status, export.in_doubt = "exported", False
            return Outcome([])  # the provider already has this very workout
        reference = f"relay-{export.id}-{digest[:10]}"
        outgoing = Outgoing(
            export_id=export.id,
            reference=reference,
            workout=workout,
            scheduled_date=planned.scheduled_date,
            time_zone=profile.timezone if profile else "UTC",
            # The reference finds the workout again on Garmin, which keeps no other field of Relay's.
            description=f"{planned.title} (Relay {planned.scheduled_date.isoformat()}, {reference})",
        )
        previous = (
            Pushed(export.provider_workout_id, export.provider_schedule_id)
            if export.provider_workout_id
            else None
        )
        found = await pusher.find(token, outgoing) if export.in_doubt else None
        if found is not None:
            # An attempt that got no answer did create it: it is finished, not made again.
            if previous is not None and previous.workout_id == found.workout_id:
                found = previous  # what that attempt learnt of it (its schedule) stays
            elif previous is not None:
                await pusher.remove(token, previous)
            moved = export.pushed_date != planned.scheduled_date
            pushed = await pusher.finish(token, found, outgoing, moved=moved)
            action = "created" if previous is None else "replaced"
        elif previous is not None:
            pushed, action = await pusher.update(
                token, previous, outgoing, moved=export.pushed_date != planned.scheduled_date
            )
        else:
            pushed, action = await pusher.create(token, outgoing), "created"
        export.provider_workout_id, export.provider_schedule_id = pushed.workout_id, pushed.schedule_id
        export.in_doubt = False
        if not await pusher.holds(token, pushed, outgoing):
            export.provider_workout_id = export.provider_schedule_id = None
            raise NotCreated(
                f"{export.provider} answered success but does not hold workout {pushed.workout_id}"
            )
        now = datetime.now(UTC)
        export.status, export.failure_reason, export.last_error = "exported", None, None
        export.pushed_digest, export.pushed_date = digest, planned.scheduled_date
        export.pushed_thresholds = thresholds.model_dump(mode="json")
        export.exported_at = export.verified_at = now
        common = {
            "export_id": export.id,
            "session_id": export.session_id,
            "user_id": export.user_id,
            "provider": export.provider,
            "provider_workout_id": pushed.workout_id,
            "actor": SYSTEM,
        }
        return Outcome(
            [
                EXPORT_WORKOUT_EXPORTED.envelope(
                    WorkoutExported(
                        **common,
                        scheduled_date=planned.scheduled_date,
                        action=action,
                        thresholds=thresholds,
                        attempts=export.attempts,
                        exported_at=now,
                    ),
                    subject=export.user_id,
                ),
                EXPORT_WORKOUT_VERIFIED.envelope(
                    WorkoutVerified(**common, verified_at=now), subject=export.user_id
                ),
            ]
        )

    def _setback(self, export: WorkoutExport, problem: Exception) -> Outcome:
        """Another attempt later, or the final failure once attempts are spent."""
        export.in_doubt = export.in_doubt or isinstance(problem, ProviderUnavailable)
        if export.attempts >= self._settings.max_attempts:
            reason = "not_created" if isinstance(problem, NotCreated) else "provider_error"
            return self._failed(export, reason, str(problem))
        wait = self._settings.retry_base_seconds * 2 ** (export.attempts - 1)
        export.status = "queued"
        export.next_attempt_at = datetime.now(UTC) + timedelta(seconds=wait)
        export.last_error = str(problem)[:500]
        return Outcome([])

    def _failed(self, export: WorkoutExport, reason: str, message: str) -> Outcome:
        export.status, export.failure_reason, export.last_error = "failed", reason, message[:500]
        failed = WorkoutExportFailed(
            export_id=export.id,
            session_id=export.session_id,
            user_id=export.user_id,
            provider=export.provider,  # type: ignore[arg-type]
            reason=reason,  # type: ignore[arg-type]
            message=message[:500],
            attempts=export.attempts,
            failed_at=datetime.now(UTC),
            actor=SYSTEM,
        )
        return Outcome([EXPORT_WORKOUT_FAILED.envelope(failed, subject=export.user_id)])


def content_digest(workout: StructuredWorkout, scheduled_date: str) -> str:
    """What identifies the pushed content: the same workout on the same day is not pushed twice."""
    content = json.dumps({"workout": workout.model_dump(mode="json"), "date": scheduled_date}, sort_keys=True)
    return hashlib.sha256(content.encode()).hexdigest()
