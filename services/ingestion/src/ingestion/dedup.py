"""The same workout arriving from two providers (a Garmin run also synced to Strava, a Zwift ride on
Strava recorded by a Wahoo KICKR too, an Apple Watch run exported by the health bridge and by Strava):
recognized, shown once, kept with its lineage, and separated again when the athlete says so.

Merges form a tree per workout: each `activity_merges` row says that its duplicate matched its kept
copy, directly. Every copy of a tree points (`duplicate_of`) at the tree's root, the one copy the athlete
sees. A newcomer is only ever compared with copies the athlete sees; undoing a merge detaches the
duplicate together with the copies merged into it, and the detached copy is shown again.

Which copy is shown: the recording device's own platform (Garmin, COROS, Wahoo, Polar), then Strava,
then the wearables' apps (Fitbit, WHOOP, Oura), then the health bridge; between equals, the copy stored
first. The device's platform has the device's own sport, laps and sensors; an aggregator's copy is
derived from it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion import repository
from ingestion.models import Activity, ActivityMerge
from relay_contracts.catalog import INGESTION_ACTIVITY_MERGED
from relay_contracts.events.common import Actor
from relay_contracts.events.ingestion import ActivityMerged
from relay_platform.errors import NotFound
from relay_platform.logging import get_logger
from relay_platform.outbox import add_event

log = get_logger(__name__)

MAX_START_DIFFERENCE = timedelta(minutes=10)
"""Two copies of one workout start within seconds of each other (a copy synced from the device), or a
minute or two apart (two devices started by hand); ten minutes leaves room and no more."""
MIN_OVERLAP = 0.8
"""Share of the longer copy's [start, start + elapsed] that the shorter one covers. A head unit started
before Zwift and stopped after it still covers 90 %; a 45 minute race inside a 90 minute ride does not."""
STRONG_OVERLAP = 0.95
"""Enough to merge when only one copy has a distance (a pool swim Strava has no distance for)."""
START_DIFFERENCE_WITHOUT_DURATION = timedelta(minutes=1)
"""When a copy has no duration, no overlap can be measured: its start must then be all but the same."""
DISTANCE_TOLERANCE = 0.10
"""Relative difference of two GPS distances of one workout (two devices worn, or a re-sampled track)."""
ESTIMATED_DISTANCE_TOLERANCE = 0.25
"""Indoors the distance is an estimate (a trainer's wheel speed, Zwift's physics, a foot pod), and
two estimates of one workout differ much more."""
ESTIMATED_DISTANCE_SUB_SPORTS = frozenset({"indoor", "virtual", "treadmill"})

SHOWN_COPY_RANK: dict[str, int] = {
    "garmin": 0,
    "coros": 0,
    "wahoo": 0,
    "polar": 0,
    "strava": 1,
    "fitbit": 2,
    "whoop": 2,
    "oura": 2,
    "health_bridge": 3,
}
"""Which copy of a workout is shown, lowest first: the recording device's platform, the aggregator,
the wearables' apps, the health bridge."""
UNRANKED = max(SHOWN_COPY_RANK.values()) + 1

AUTOMATIC_UNDOS = frozenset({"provider_update", "kept_deleted"})
"""Merges undone by Relay itself: when the copies match again, they are merged again. A merge undone by
a person (`athlete`, `admin`) is never made again."""

DistanceRule = Literal["within_tolerance", "both_without_distance", "one_without_distance"]


class ActivityFields(Protocol):
    """What matching reads from an activity: a stored `Activity` or a provider's `ActivityData`."""

    @property
    def provider(self) -> str: ...
    @property
    def sport(self) -> str: ...
    @property
    def sub_sport(self) -> str | None: ...
    @property
    def sport_type(self) -> str: ...
    @property
    def start_time(self) -> datetime: ...
    @property
    def elapsed_time_s(self) -> int | None: ...
    @property
    def moving_time_s(self) -> int | None: ...
    @property
    def distance_m(self) -> float | None: ...


@dataclass(frozen=True)
class CopyFacts:
    """What one copy said when the two were compared."""

    provider: str
    sport_type: str
    sub_sport: str | None
    start_time: datetime
    duration_s: int | None
    distance_m: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "sport_type": self.sport_type,
            "sub_sport": self.sub_sport,
            "start_time": self.start_time.isoformat(),
            "duration_s": self.duration_s,
            "distance_m": self.distance_m,
        }


@dataclass(frozen=True)
class MatchEvidence:
    """Why two copies are one workout; stored with the merge and shown in its lineage."""

    sport: str
    start_difference_s: float
    overlap_ratio: float | None
    distance_rule: DistanceRule
    distance_difference_ratio: float | None
    copies: tuple[CopyFacts, CopyFacts]

    @property
    def strength(self) -> tuple[float, float]:
        """Orders several matches of one activity, the most convincing first (larger is better)."""
        return (self.overlap_ratio or 0.0, -self.start_difference_s)

    def as_json(self) -> dict[str, Any]:
        return {
            "sport": self.sport,
            "start_difference_s": self.start_difference_s,
            "overlap_ratio": self.overlap_ratio,
            "distance_rule": self.distance_rule,
            "distance_difference_ratio": self.distance_difference_ratio,
            "copies": [copy.as_json() for copy in self.copies],
        }


def match(a: ActivityFields, b: ActivityFields) -> MatchEvidence | None:
    """The evidence that `a` and `b`, from two providers, are the same workout, or None.

    Both must be the same Relay sport (an indoor and a virtual ride are both rides; a run and a walk
    are not one workout), start within `MAX_START_DIFFERENCE`, and cover `MIN_OVERLAP` of the longer
    one's time. Their distances must agree within `DISTANCE_TOLERANCE` (`ESTIMATED_DISTANCE_TOLERANCE`
    indoors); two copies without a distance (a strength session) agree, and a copy without a distance
    (0 counts as none) matches one with a distance only when their times overlap almost entirely.
    Copies from one provider are never matched: that provider's own duplicates are the athlete's."""
    if a.provider == b.provider or a.sport != b.sport:
        return None
    start_difference = abs(a.start_time - b.start_time)
    if start_difference > MAX_START_DIFFERENCE:
        return None
    duration_a, duration_b = _duration(a), _duration(b)
    overlap: float | None = None
    if duration_a is not None and duration_b is not None:
        overlap = _overlap_ratio(a.start_time, duration_a, b.start_time, duration_b)
        if overlap < MIN_OVERLAP:
            return None
    elif start_difference > START_DIFFERENCE_WITHOUT_DURATION:
        return None

    distance_a, distance_b = _distance(a), _distance(b)
    rule: DistanceRule
    difference: float | None = None
    if distance_a is not None and distance_b is not None:
        difference = abs(distance_a - distance_b) / max(distance_a, distance_b)
        estimated = {a.sub_sport, b.sub_sport} & ESTIMATED_DISTANCE_SUB_SPORTS
        if difference > (ESTIMATED_DISTANCE_TOLERANCE if estimated else DISTANCE_TOLERANCE):
            return None
        rule = "within_tolerance"
    elif distance_a is None and distance_b is None:
        rule = "both_without_distance"
    elif overlap is not None and overlap >= STRONG_OVERLAP:
        rule = "one_without_distance"
    else:
        return None

    return MatchEvidence(
        sport=a.sport,
        start_difference_s=start_difference.total_seconds(),
        overlap_ratio=None if overlap is None else round(overlap, 4),
        distance_rule=rule,
        distance_difference_ratio=None if difference is None else round(difference, 4),
        copies=(_facts(a, duration_a, distance_a), _facts(b, duration_b, distance_b)),
    )


def shown_copy_rank(provider: str) -> int:
    """Where a provider's copy stands in the choice of the copy shown (lower is shown)."""
    return SHOWN_COPY_RANK.get(provider, UNRANKED)


def kept_and_duplicate(a: Activity, b: Activity) -> tuple[Activity, Activity]:
    """The copy to show and the copy to keep as its lineage: by `SHOWN_COPY_RANK`, then the copy stored
    first (then the earlier start and the id, so that the choice never depends on the argument order)."""

    return (a, b) if _choice_order(a) <= _choice_order(b) else (b, a)


def _choice_order(activity: Activity) -> tuple[int, datetime, datetime, str]:
    stored = activity.created_at or datetime.max.replace(tzinfo=UTC)
    return (shown_copy_rank(activity.provider), stored, activity.start_time, str(activity.id))


def _duration(activity: ActivityFields) -> int | None:
    seconds = activity.elapsed_time_s or activity.moving_time_s
    return seconds if seconds and seconds > 0 else None


def _distance(activity: ActivityFields) -> float | None:
    # Strava says 0 for a swim it got no distance for; 0 is not a measurement.
    distance = activity.distance_m
    return distance if distance is not None and distance > 0 else None


def _overlap_ratio(start_a: datetime, duration_a: int, start_b: datetime, duration_b: int) -> float:
    end_a = start_a + timedelta(seconds=duration_a)
    end_b = start_b + timedelta(seconds=duration_b)
    shared = (min(end_a, end_b) - max(start_a, start_b)).total_seconds()
    return max(shared, 0.0) / max(duration_a, duration_b)


def _facts(activity: ActivityFields, duration: int | None, distance: float | None) -> CopyFacts:
    return CopyFacts(
        provider=activity.provider,
        sport_type=activity.sport_type,
        sub_sport=activity.sub_sport,
        start_time=activity.start_time,
        duration_s=duration,
        distance_m=distance,
    )


# Use cases


async def reconcile(session: AsyncSession, activity: Activity, *, topic_prefix: str) -> ActivityMerge | None:
    """Called in the transaction that stored or changed `activity` (read again by its id): merges it with
    another provider's copy of the same workout, or separates it from copies it no longer matches.

    A changed copy that no longer matches the copy it was merged with (or one merged into it) is
    separated from it (`undone_by="provider_update"`); a copy the athlete sees is then compared with
    the athlete's other shown activities from other providers that start around it, and merged with the
    best match unless a person separated the two workouts before. The copy not shown points at the one
    shown, and so do the copies merged into it. Each merge and separation stages
    `ingestion.activity.merged`. `activity.duplicate_of` is brought up to date (for the caller's
    `ingestion.activity.upserted`). Returns the merge made for `activity`, if one was."""
    await repository.lock_activity_merges(session, activity.user_id)
    stored = await _current(session, activity.id)
    if stored is None:
        return None
    now = datetime.now(UTC)
    freed = await _separate_copies_no_longer_matching(session, stored, now, topic_prefix)
    merge = None
    if stored.duplicate_of is None:
        merge = await _merge_with_best_match(session, stored, now, topic_prefix)
    for copy in freed:
        if copy.duplicate_of is None:
            await _merge_with_best_match(session, copy, now, topic_prefix)
    # The caller's row (often one read back from its upsert) says what the athlete now sees of it.
    activity.duplicate_of = stored.duplicate_of
    return merge


async def undo_merge(
    session: AsyncSession, user_id: str, merge_id: uuid.UUID, *, actor: Actor, topic_prefix: str
) -> ActivityMerge:
    """Separates a merge at the athlete's (or an operator's) request: the duplicate is shown again,
    with the copies merged into it, and the two are never merged again. `NotFound` for another
    athlete's merge, as for one that does not exist. A merge already undone by Relay is only marked as
    the person's decision."""
    await repository.lock_activity_merges(session, user_id)
    merge = await repository.get_athlete_merge(session, user_id, merge_id)
    if merge is None:
        raise NotFound("No such merge", code="merge_not_found", details={"merge_id": str(merge_id)})
    if merge.undone_at is None:
        await _separate(session, merge, actor.type, datetime.now(UTC), topic_prefix)
    elif merge.undone_by in AUTOMATIC_UNDOS:
        merge.undone_by = actor.type
    log.info("activity_merge_undone", merge_id=str(merge.id), undone_by=actor.type)
    return merge


async def promote_duplicates(
    session: AsyncSession, deleted_activity: Activity, *, topic_prefix: str
) -> list[Activity]:
    """Called before `deleted_activity` is deleted: the copies merged into it are separated from it
    (`undone_by="kept_deleted"`, each with its `ingestion.activity.merged` event), so that the athlete
    still sees the workout once, and merged again among themselves or with the copy shown (the best
    copy left is shown). Returns the copies now shown that were not."""
    await repository.lock_activity_merges(session, deleted_activity.user_id)
    now = datetime.now(UTC)
    freed: list[Activity] = []
    for merge in await repository.active_merges_kept_by(session, [deleted_activity.id]):
        freed.append(await _separate(session, merge, "kept_deleted", now, topic_prefix))
    # The best copy first: it is the one the others are merged into.
    freed.sort(key=_choice_order)
    for copy in freed:
        if copy.duplicate_of is None:
            await _merge_with_best_match(session, copy, now, topic_prefix, excluding={deleted_activity.id})
    return [copy for copy in freed if copy.duplicate_of is None]


@dataclass(frozen=True)
class Lineage:
    """One workout as the athlete's providers sent it: the copy asked about, the copy shown, every copy
    (the shown one first), and every merge and separation about them with its evidence."""

    activity: Activity
    shown: Activity
    copies: list[Activity]
    merges: list[ActivityMerge]
    providers: dict[uuid.UUID, str]
    """The provider of every activity the merges name (a separated one is no longer a copy)."""


async def activity_lineage(session: AsyncSession, user_id: str, activity_id: uuid.UUID) -> Lineage:
    """The lineage of one of the athlete's activities; `NotFound` for another athlete's."""
    activity = await repository.get_athlete_activity(session, user_id, activity_id)
    if activity is None:
        raise NotFound(
            "No such activity", code="activity_not_found", details={"activity_id": str(activity_id)}
        )
    shown = activity
    if activity.duplicate_of is not None:
        shown = await repository.get_athlete_activity(session, user_id, activity.duplicate_of) or activity
    copies = [shown, *await repository.copies_shown_as(session, shown.id)]
    merges = await repository.merges_involving(session, [copy.id for copy in copies])
    providers = {copy.id: copy.provider for copy in copies}
    others = {m.kept_id for m in merges} | {m.duplicate_id for m in merges}
    for other in await repository.activities_by_ids(session, others - providers.keys()):
        providers[other.id] = other.provider
    return Lineage(activity=activity, shown=shown, copies=copies, merges=merges, providers=providers)


async def providers_of(session: AsyncSession, merge: ActivityMerge) -> dict[uuid.UUID, str]:
    """The provider of each side of a merge."""
    sides = await repository.activities_by_ids(session, {merge.kept_id, merge.duplicate_id})
    return {activity.id: activity.provider for activity in sides}


async def _current(session: AsyncSession, activity_id: uuid.UUID) -> Activity | None:
    """The stored row as it is now: the caller may hold a copy read before its own upsert changed it."""
    await session.flush()
    return await repository.load_activity(session, activity_id)


async def _separate_copies_no_longer_matching(
    session: AsyncSession, activity: Activity, now: datetime, topic_prefix: str
) -> list[Activity]:
    """Undoes the merges of `activity` whose two copies no longer match; returns the copies that were
    merged into it and are shown again."""
    parent = await repository.active_merge_of_duplicate(session, activity.id)
    if parent is not None:
        kept = await repository.load_activity(session, parent.kept_id)
        if kept is None or match(kept, activity) is None:
            await _separate(session, parent, "provider_update", now, topic_prefix)
    freed: list[Activity] = []
    for child in await repository.active_merges_kept_by(session, [activity.id]):
        duplicate = await repository.load_activity(session, child.duplicate_id)
        if duplicate is None or match(activity, duplicate) is None:
            freed.append(await _separate(session, child, "provider_update", now, topic_prefix))
    return freed


async def _merge_with_best_match(
    session: AsyncSession,
    activity: Activity,
    now: datetime,
    topic_prefix: str,
    *,
    excluding: Collection[uuid.UUID] = (),
) -> ActivityMerge | None:
    """Merges a shown `activity` with the shown activity of another provider that matches it best,
    unless a person separated any copy of the one workout from any copy of the other."""
    candidates = await repository.shown_activities_starting_between(
        session,
        activity.user_id,
        activity.start_time - MAX_START_DIFFERENCE,
        activity.start_time + MAX_START_DIFFERENCE,
        other_than_provider=activity.provider,
        excluding={activity.id, *excluding},
    )
    matches = [(evidence, c) for c in candidates if (evidence := match(activity, c)) is not None]
    matches.sort(key=lambda found: found[0].strength, reverse=True)
    own_copies = await _workout_copies(session, activity)
    for _, candidate in matches:
        if await repository.separated_by_a_person(
            session, own_copies, await _workout_copies(session, candidate), AUTOMATIC_UNDOS
        ):
            continue
        kept, duplicate = kept_and_duplicate(activity, candidate)
        return await _merge(session, kept, duplicate, now, topic_prefix)
    return None


async def _workout_copies(session: AsyncSession, shown: Activity) -> set[uuid.UUID]:
    return {shown.id, *(copy.id for copy in await repository.copies_shown_as(session, shown.id))}


async def _merge(
    session: AsyncSession, kept: Activity, duplicate: Activity, now: datetime, topic_prefix: str
) -> ActivityMerge:
    evidence = match(kept, duplicate)
    assert evidence is not None, "matching is symmetric"
    merge = await repository.merge_of_pair(session, kept.id, duplicate.id)
    if merge is None:
        merge = ActivityMerge(
            user_id=kept.user_id,
            kept_id=kept.id,
            duplicate_id=duplicate.id,
            evidence=evidence.as_json(),
            merged_at=now,
        )
        session.add(merge)
    else:
        # Separated by Relay after a change, matching again after another: the same pair, merged again.
        merge.kept_id, merge.duplicate_id = kept.id, duplicate.id
        merge.evidence, merge.merged_at = evidence.as_json(), now
        merge.undone_at = merge.undone_by = None
    for copy in await repository.copies_shown_as(session, duplicate.id):
        copy.duplicate_of = kept.id
    duplicate.duplicate_of = kept.id
    await session.flush()
    await _stage(session, merge, kept, duplicate, undone=False, at=now, topic_prefix=topic_prefix)
    log.info(
        "activities_merged",
        merge_id=str(merge.id),
        kept_provider=kept.provider,
        duplicate_provider=duplicate.provider,
    )
    return merge


async def _separate(
    session: AsyncSession, merge: ActivityMerge, undone_by: str, now: datetime, topic_prefix: str
) -> Activity:
    """Undoes `merge`: its duplicate is shown again, and the copies merged into it (directly or not)
    now point at it. Returns the duplicate."""
    merge.undone_at, merge.undone_by = now, undone_by
    kept = await session.get(Activity, merge.kept_id)
    duplicate = await session.get(Activity, merge.duplicate_id)
    assert kept is not None and duplicate is not None, "merged activities are deleted with their merges"
    duplicate.duplicate_of = None
    for copy in await repository.activities_by_ids(session, await _merged_into(session, duplicate.id)):
        copy.duplicate_of = duplicate.id
    await session.flush()
    await _stage(session, merge, kept, duplicate, undone=True, at=now, topic_prefix=topic_prefix)
    log.info("activities_separated", merge_id=str(merge.id), undone_by=undone_by)
    return duplicate


async def _merged_into(session: AsyncSession, kept_id: uuid.UUID) -> set[uuid.UUID]:
    """The copies merged into `kept_id`, directly or through other copies."""
    found: set[uuid.UUID] = set()
    frontier: Sequence[uuid.UUID] = [kept_id]
    while frontier:
        merges = await repository.active_merges_kept_by(session, frontier)
        frontier = [m.duplicate_id for m in merges if m.duplicate_id not in found]
        found.update(frontier)
    return found


async def _stage(
    session: AsyncSession,
    merge: ActivityMerge,
    kept: Activity,
    duplicate: Activity,
    *,
    undone: bool,
    at: datetime,
    topic_prefix: str,
) -> None:
    data = ActivityMerged(
        merge_id=str(merge.id),
        user_id=merge.user_id,
        kept_activity_id=str(kept.id),
        kept_provider=kept.provider,
        duplicate_activity_id=str(duplicate.id),
        duplicate_provider=duplicate.provider,
        undone=undone,
        at=at,
    )
    envelope = INGESTION_ACTIVITY_MERGED.envelope(data, subject=merge.user_id)
    await add_event(session, envelope, topic_prefix=topic_prefix)
