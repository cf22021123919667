"""The athlete's view of a workout that several providers sent (its copies, and why they were merged)
and the undoing of a merge that should not have been made."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from ingestion import dedup
from ingestion.models import Activity, ActivityMerge
from relay_contracts.events.common import Actor
from relay_platform.auth import CurrentAthlete
from relay_platform.db import SessionDep

router = APIRouter(prefix="/api/activities", tags=["activities"])


class ActivityCopyOut(BaseModel):
    """One provider's copy of a workout."""

    id: uuid.UUID
    provider: str
    external_id: str
    sport: str
    sub_sport: str | None
    sport_type: str
    name: str | None
    start_time: datetime
    elapsed_time_s: int | None
    distance_m: float | None
    device_name: str | None
    shown: bool = Field(description="Whether this is the copy the athlete sees.")
    duplicate_of: uuid.UUID | None = Field(description="The shown copy, for a copy merged into it.")

    @classmethod
    def of(cls, activity: Activity) -> ActivityCopyOut:
        return cls(
            id=activity.id,
            provider=activity.provider,
            external_id=activity.external_id,
            sport=activity.sport,
            sub_sport=activity.sub_sport,
            sport_type=activity.sport_type,
            name=activity.name,
            start_time=activity.start_time,
            elapsed_time_s=activity.elapsed_time_s,
            distance_m=activity.distance_m,
            device_name=activity.device_name,
            shown=activity.duplicate_of is None,
            duplicate_of=activity.duplicate_of,
        )


class MergeOut(BaseModel):
    """Two copies recognized as one workout, and, when they were separated again, when and by whom
    (`athlete`, `admin`, `provider_update` when a change made them differ, `kept_deleted`)."""

    merge_id: uuid.UUID
    kept_activity_id: uuid.UUID
    kept_provider: str | None
    duplicate_activity_id: uuid.UUID
    duplicate_provider: str | None
    evidence: dict[str, Any] = Field(
        description="Sport, start difference, time overlap, distances: the kept copy first in `copies`."
    )
    merged_at: datetime
    undone_at: datetime | None
    undone_by: str | None

    @classmethod
    def of(cls, merge: ActivityMerge, providers: dict[uuid.UUID, str]) -> MergeOut:
        return cls(
            merge_id=merge.id,
            kept_activity_id=merge.kept_id,
            kept_provider=providers.get(merge.kept_id),
            duplicate_activity_id=merge.duplicate_id,
            duplicate_provider=providers.get(merge.duplicate_id),
            evidence=merge.evidence,
            merged_at=merge.merged_at,
            undone_at=merge.undone_at,
            undone_by=merge.undone_by,
        )


class LineageOut(BaseModel):
    activity_id: uuid.UUID = Field(description="The activity asked about.")
    shown_activity_id: uuid.UUID = Field(description="The copy of this workout the athlete sees.")
    copies: list[ActivityCopyOut] = Field(description="Every copy of the workout, the shown one first.")
    merges: list[MergeOut] = Field(description="Every merge about these copies, undone ones included.")


@router.get("/{activity_id}/lineage", summary="Where an activity came from")
async def activity_lineage(
    athlete: CurrentAthlete, session: SessionDep, activity_id: uuid.UUID
) -> LineageOut:
    """The providers' copies of the workout, which one is shown, and the evidence of each merge.
    404 for another athlete's activity."""
    lineage = await dedup.activity_lineage(session, athlete.sub, activity_id)
    return LineageOut(
        activity_id=lineage.activity.id,
        shown_activity_id=lineage.shown.id,
        copies=[ActivityCopyOut.of(copy) for copy in lineage.copies],
        merges=[MergeOut.of(merge, lineage.providers) for merge in lineage.merges],
    )


@router.post("/merges/{merge_id}/undo", summary="Separate two activities merged as one")
async def undo_merge(
    request: Request, athlete: CurrentAthlete, session: SessionDep, merge_id: uuid.UUID
) -> MergeOut:
    """Both copies are shown again, and are never merged again. A merge already undone stays undone
    (one Relay undid after a provider's change becomes the athlete's decision). 404 for another
    athlete's merge."""
    merge = await dedup.undo_merge(
        session,
        athlete.sub,
        merge_id,
        actor=Actor(type="athlete", id=athlete.sub),
        topic_prefix=request.app.state.runtime.settings.kafka_topic_prefix,
    )
    return MergeOut.of(merge, await dedup.providers_of(session, merge))
