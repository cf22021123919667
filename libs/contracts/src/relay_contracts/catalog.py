"""The event catalogue: every event type, its version, its topic and the schema of its data."""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from pydantic import BaseModel

from relay_contracts.envelope import Envelope
from relay_contracts.events import audit, common, connections, export, identity, ingestion, jobs, planning
from relay_contracts.topics import TopicSpec, topic_for_service


@dataclass(frozen=True)
class EventSpec:
    type: str
    version: int
    data: builtins.type[BaseModel]
    description: str

    @property
    def topic(self) -> TopicSpec:
        return topic_for_service(self.type.split(".", 1)[0])

    def envelope(
        self,
        data: BaseModel,
        *,
        subject: str,
        traceparent: str | None = None,
        tracestate: str | None = None,
    ) -> Envelope:
        if not isinstance(data, self.data):
            raise TypeError(
                f"{self.type} v{self.version} carries {self.data.__name__}, not {type(data).__name__}"
            )
        return Envelope(
            type=self.type,
            version=self.version,
            producer=self.type.split(".", 1)[0],
            subject=subject,
            traceparent=traceparent,
            tracestate=tracestate,
            data=data.model_dump(mode="json"),
        )

    def parse(self, envelope: Envelope) -> BaseModel:
        parsed: BaseModel = self.data.model_validate(envelope.data)
        return parsed


IDENTITY_USER_REGISTERED = EventSpec(
    type="identity.user.registered",
    version=1,
    data=identity.UserRegistered,
    description="An athlete signed in with Strava for the first time.",
)
IDENTITY_USER_UPDATED = EventSpec(
    type="identity.user.updated",
    version=1,
    data=identity.UserUpdated,
    description="Fields of an athlete's account changed.",
)
IDENTITY_USER_DELETED = EventSpec(
    type="identity.user.deleted",
    version=1,
    data=identity.UserDeleted,
    description="An athlete deleted their account: every service erases what it holds about them.",
)
IDENTITY_PROFILE_UPDATED = EventSpec(
    type="identity.profile.updated",
    version=1,
    data=identity.ProfileUpdated,
    description="An athlete's training profile changed; carries the whole profile.",
)
IDENTITY_SESSION_REVOKED = EventSpec(
    type="identity.session.revoked",
    version=1,
    data=identity.SessionRevoked,
    description="A sign-in session was revoked (logout, refresh-token reuse, deletion, operator).",
)
IDENTITY_STRAVA_GRANT_ISSUED = EventSpec(
    type="identity.strava_grant.issued",
    version=1,
    data=identity.StravaGrantIssued,
    description="Strava tokens obtained at sign-in wait for the connections service to claim them.",
)
IDENTITY_API_KEY_CREATED = EventSpec(
    type="identity.api_key.created",
    version=1,
    data=identity.ApiKeyCreated,
    description="An API key for a bridge app was created (its SHA-256 digest, never the key).",
)
IDENTITY_API_KEY_REVOKED = EventSpec(
    type="identity.api_key.revoked",
    version=1,
    data=identity.ApiKeyRevoked,
    description="An API key was revoked.",
)
IDENTITY_ADMIN_CREATED = EventSpec(
    type="identity.admin.created",
    version=1,
    data=identity.AdminCreated,
    description="A back-office account was created.",
)
IDENTITY_ADMIN_LOGGED_IN = EventSpec(
    type="identity.admin.logged_in",
    version=1,
    data=identity.AdminLoggedIn,
    description="An operator signed in to the back office.",
)
IDENTITY_ADMIN_LOGIN_FAILED = EventSpec(
    type="identity.admin.login_failed",
    version=1,
    data=identity.AdminLoginFailed,
    description="A back-office sign-in was refused.",
)
CONNECTIONS_CONNECTION_LINKED = EventSpec(
    type="connections.connection.linked",
    version=1,
    data=connections.ConnectionLinked,
    description="An athlete linked a provider account (or linked it again).",
)
CONNECTIONS_CONNECTION_UPDATED = EventSpec(
    type="connections.connection.updated",
    version=1,
    data=connections.ConnectionUpdated,
    description="A connection was paused, resumed or otherwise changed.",
)
CONNECTIONS_CONNECTION_REAUTH_REQUIRED = EventSpec(
    type="connections.connection.reauth_required",
    version=1,
    data=connections.ConnectionReauthRequired,
    description="A provider refused a connection's grant: the athlete must link it again.",
)
CONNECTIONS_CONNECTION_REVOKED = EventSpec(
    type="connections.connection.revoked",
    version=1,
    data=connections.ConnectionRevoked,
    description="Relay's access to a provider account ended; may ask for that provider's data to be erased.",
)
CONNECTIONS_CONNECTION_EXPIRING = EventSpec(
    type="connections.connection.expiring",
    version=1,
    data=connections.ConnectionExpiring,
    description="A connection will break unless the athlete acts (legacy OAuth, expiry, long unused).",
)
CONNECTIONS_SYNC_REQUESTED = EventSpec(
    type="connections.sync.requested",
    version=1,
    data=connections.SyncRequested,
    description="The athlete asked for a synchronisation of a connection.",
)
CONNECTIONS_ACCESS_TOKEN_ISSUED = EventSpec(
    type="connections.access_token.issued",
    version=1,
    data=connections.AccessTokenIssued,
    description="A service obtained an athlete's provider access token (audited; the token is not in it).",
)
INGESTION_WEBHOOK_RECEIVED = EventSpec(
    type="ingestion.webhook.received",
    version=1,
    data=ingestion.WebhookReceived,
    description="A provider notification was accepted and made durable; it may point to data still to fetch.",
)
INGESTION_API_KEY_USED = EventSpec(
    type="ingestion.api_key.used",
    version=1,
    data=ingestion.ApiKeyUsed,
    description="An API key authenticated a bridge app's request (at most once a minute per key).",
)
INGESTION_SYNC_STARTED = EventSpec(
    type="ingestion.sync.started",
    version=1,
    data=ingestion.SyncStarted,
    description="Ingestion started synchronising a connection.",
)
INGESTION_SYNC_PROGRESSED = EventSpec(
    type="ingestion.sync.progressed",
    version=1,
    data=ingestion.SyncProgressed,
    description="How far a running synchronisation is.",
)
INGESTION_SYNC_COMPLETED = EventSpec(
    type="ingestion.sync.completed",
    version=1,
    data=ingestion.SyncCompleted,
    description="A synchronisation ended, with its counts or its error.",
)
INGESTION_SYNC_FAILED = EventSpec(
    type="ingestion.sync.failed",
    version=1,
    data=ingestion.SyncFailed,
    description="A synchronisation stopped without finishing, with its counts so far and why.",
)
INGESTION_ACTIVITY_UPSERTED = EventSpec(
    type="ingestion.activity.upserted",
    version=1,
    data=ingestion.ActivityUpserted,
    description="An activity was stored or changed, in Relay's activity model (keyed by athlete).",
)
INGESTION_ACTIVITY_DELETED = EventSpec(
    type="ingestion.activity.deleted",
    version=1,
    data=ingestion.ActivityDeleted,
    description="An activity was deleted at its provider or erased with the athlete's provider data.",
)
INGESTION_ACTIVITY_MERGED = EventSpec(
    type="ingestion.activity.merged",
    version=1,
    data=ingestion.ActivityMerged,
    description="Two providers' copies of one workout were merged (or, with `undone`, separated again).",
)
PLANNING_PROGRAM_ACTIVATED = EventSpec(
    type="planning.program.activated",
    version=1,
    data=planning.ProgramActivated,
    description="A training program became an athlete's active program.",
)
PLANNING_PROGRAM_ENDED = EventSpec(
    type="planning.program.ended",
    version=1,
    data=planning.ProgramEnded,
    description="A training program stopped being active.",
)
PLANNING_PROGRAM_GENERATED = EventSpec(
    type="planning.program.generated",
    version=1,
    data=planning.ProgramGenerated,
    description="A periodized program was generated for an athlete.",
)
PLANNING_PROGRAM_RECALCULATED = EventSpec(
    type="planning.program.recalculated",
    version=1,
    data=planning.ProgramRecalculated,
    description="A program's upcoming weeks were adjusted (after a skip, low compliance or the weekly job).",
)
PLANNING_SESSION_SCHEDULED = EventSpec(
    type="planning.session.scheduled",
    version=1,
    data=planning.SessionScheduled,
    description="A session was planned, with its structured workout.",
)
PLANNING_SESSION_CHANGED = EventSpec(
    type="planning.session.changed",
    version=1,
    data=planning.SessionChanged,
    description="A planned session was changed or removed.",
)
PLANNING_SESSION_COMPLETED = EventSpec(
    type="planning.session.completed",
    version=1,
    data=planning.SessionCompleted,
    description="A planned session was completed, by the athlete or by a matching activity.",
)
PLANNING_SESSION_SKIPPED = EventSpec(
    type="planning.session.skipped",
    version=1,
    data=planning.SessionSkipped,
    description="The athlete skipped a planned session, with the reason.",
)
EXPORT_WORKOUT_EXPORTED = EventSpec(
    type="export.workout.exported",
    version=1,
    data=export.WorkoutExported,
    description="A session's workout was created or updated on the athlete's Garmin or COROS account.",
)
EXPORT_WORKOUT_FAILED = EventSpec(
    type="export.workout.failed",
    version=1,
    data=export.WorkoutExportFailed,
    description="Exporting a session's workout gave up, with the reason.",
)
EXPORT_WORKOUT_VERIFIED = EventSpec(
    type="export.workout.verified",
    version=1,
    data=export.WorkoutVerified,
    description="An exported workout was read back from the provider.",
)
EXPORT_WORKOUT_REMOVED = EventSpec(
    type="export.workout.removed",
    version=1,
    data=export.WorkoutRemoved,
    description="An exported workout was deleted from the provider (its session left the plan).",
)

IDENTITY_ADMIN_DATA_ACCESSED = EventSpec(
    type="identity.admin.data_accessed",
    version=1,
    data=common.AdminDataAccessed,
    description="An operator read athletes' or operators' accounts through the back office.",
)
AUDIT_ADMIN_DATA_ACCESSED = EventSpec(
    type="audit.admin.data_accessed",
    version=1,
    data=common.AdminDataAccessed,
    description="An operator read the audit trail or dead-lettered messages.",
)
AUDIT_JOB_RUN_REQUESTED = EventSpec(
    type="audit.job.run_requested",
    version=1,
    data=audit.JobRunRequested,
    description="Command: an operator asked the service owning a job to run it once, now.",
)
AUDIT_DEAD_LETTER_REPLAYED = EventSpec(
    type="audit.dead_letter.replayed",
    version=1,
    data=audit.DeadLetterReplayed,
    description="An operator published a dead-lettered message again to its original topic.",
)


@dataclass(frozen=True)
class JobEvents:
    """The events of a service's scheduled jobs (`relay_platform.jobs`)."""

    declared: EventSpec
    started: EventSpec
    finished: EventSpec

    def specs(self) -> tuple[EventSpec, ...]:
        return (self.declared, self.started, self.finished)


def _job_events(service: str) -> JobEvents:
    return JobEvents(
        declared=EventSpec(
            type=f"{service}.jobs.declared",
            version=1,
            data=jobs.JobsDeclared,
            description=f"The {service} service started and declared its scheduled jobs.",
        ),
        started=EventSpec(
            type=f"{service}.job.started",
            version=1,
            data=jobs.JobStarted,
            description=f"A run of one of the {service} service's jobs began.",
        ),
        finished=EventSpec(
            type=f"{service}.job.finished",
            version=1,
            data=jobs.JobFinished,
            description=f"A run of one of the {service} service's jobs ended, with its status and duration.",
        ),
    )


JOB_EVENTS: dict[str, JobEvents] = {
    service: _job_events(service) for service in ("connections", "ingestion", "planning", "export", "audit")
}
"""The job events of each service that runs scheduled jobs."""

EVENTS: tuple[EventSpec, ...] = (
    IDENTITY_USER_REGISTERED,
    IDENTITY_USER_UPDATED,
    IDENTITY_USER_DELETED,
    IDENTITY_PROFILE_UPDATED,
    IDENTITY_SESSION_REVOKED,
    IDENTITY_STRAVA_GRANT_ISSUED,
    IDENTITY_API_KEY_CREATED,
    IDENTITY_API_KEY_REVOKED,
    IDENTITY_ADMIN_CREATED,
    IDENTITY_ADMIN_LOGGED_IN,
    IDENTITY_ADMIN_LOGIN_FAILED,
    CONNECTIONS_CONNECTION_LINKED,
    CONNECTIONS_CONNECTION_UPDATED,
    CONNECTIONS_CONNECTION_REAUTH_REQUIRED,
    CONNECTIONS_CONNECTION_REVOKED,
    CONNECTIONS_CONNECTION_EXPIRING,
    CONNECTIONS_SYNC_REQUESTED,
    CONNECTIONS_ACCESS_TOKEN_ISSUED,
    INGESTION_WEBHOOK_RECEIVED,
    INGESTION_API_KEY_USED,
    INGESTION_SYNC_STARTED,
    INGESTION_SYNC_PROGRESSED,
    INGESTION_SYNC_COMPLETED,
    INGESTION_SYNC_FAILED,
    INGESTION_ACTIVITY_UPSERTED,
    INGESTION_ACTIVITY_DELETED,
    INGESTION_ACTIVITY_MERGED,
    PLANNING_PROGRAM_ACTIVATED,
    PLANNING_PROGRAM_ENDED,
    PLANNING_PROGRAM_GENERATED,
    PLANNING_PROGRAM_RECALCULATED,
    PLANNING_SESSION_SCHEDULED,
    PLANNING_SESSION_CHANGED,
    PLANNING_SESSION_COMPLETED,
    PLANNING_SESSION_SKIPPED,
    EXPORT_WORKOUT_EXPORTED,
    EXPORT_WORKOUT_FAILED,
    EXPORT_WORKOUT_VERIFIED,
    EXPORT_WORKOUT_REMOVED,
    IDENTITY_ADMIN_DATA_ACCESSED,
    AUDIT_ADMIN_DATA_ACCESSED,
    AUDIT_JOB_RUN_REQUESTED,
    AUDIT_DEAD_LETTER_REPLAYED,
    *(spec for events in JOB_EVENTS.values() for spec in events.specs()),
)


def event_spec(event_type: str, version: int) -> EventSpec:
    for spec in EVENTS:
        if spec.type == event_type and spec.version == version:
            return spec
    raise KeyError(f"unknown event {event_type} v{version}")
