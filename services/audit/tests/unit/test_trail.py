from datetime import UTC, datetime

from audit.service import erased_subjects
from relay_contracts.events.common import Actor
from relay_contracts.events.identity import UserDeleted


def deleted(strava_athlete_id: str | None) -> UserDeleted:
    return UserDeleted(
        user_id="user-1",
        strava_athlete_id=strava_athlete_id,
        deleted_at=datetime.now(UTC),
        actor=Actor(type="athlete", id="user-1"),
    )


def test_an_athlete_is_erased_under_their_user_id_and_their_strava_key() -> None:
    assert erased_subjects(deleted("134815")) == ["user-1", "strava:134815"]


def test_an_athlete_without_a_strava_id_is_erased_under_their_user_id() -> None:
    assert erased_subjects(deleted(None)) == ["user-1"]
    assert erased_subjects(deleted("")) == ["user-1"]
