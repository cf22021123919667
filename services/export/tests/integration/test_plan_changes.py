"""Pushed workouts follow the plan: a recalculated session is updated (or replaced where the provider
cannot update), a session taken out of the plan is removed, a threshold changed in the profile moves
the targets; athletes who opt in get their next days pushed without asking."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from export.fit import as_written, read_fit
from export.garmin_json import as_sent, workout_from_garmin
from relay_contracts.workouts import Duration, Step, StructuredWorkout, Target
from relay_testing.services import Deliver, Mentions
from relay_testing.workouts import INTERVAL_RUN, SWEET_SPOT_RIDE

from .conftest import ExportApi
from .exports_support import (
    changed,
    completed,
    link_coros,
    link_garmin,
    profile_updated,
    scheduled,
    today,
)

pytestmark = pytest.mark.integration

LIGHTER = StructuredWorkout(
    name="Easy run",
    sport="run",
    steps=[
        Step(
            name="Easy",
            intensity="active",
            duration=Duration(kind="time", value=2400),
            target=Target(kind="heart_rate", low=125, high=145, zone=2),
        )
    ],
)


async def pushed(api: ExportApi, user_id: str, session_id: str, provider: str) -> dict[str, Any]:
    response = await api.client.post(
        f"/api/sessions/{session_id}/export",
        json={"provider": provider},
        headers=api.identity.bearer(user_id),
    )
    await api.send()
    listed = await api.client.get(
        "/api/exports", params={"session_id": session_id}, headers=api.identity.bearer(user_id)
    )
    export: dict[str, Any] = listed.json()["exports"][0]
    assert export["id"] == response.json()["id"]
    return export


async def test_a_recalculated_session_replaces_its_coros_import(
    export_api: ExportApi, deliver: Deliver, mentions: Mentions
) -> None:
    await deliver(scheduled("usr_ana", "sess_1"))
    email = await link_coros(export_api, "usr_ana")
    before = await pushed(export_api, "usr_ana", "sess_1", "coros_training_hub")

    await deliver(changed("usr_ana", "sess_1", LIGHTER))
    assert await export_api.send() == 1

    imports = await export_api.providers.coros_imports(email)
    assert len(imports) == 1
    assert imports[0].import_id != before["provider_workout_id"]
    assert read_fit(imports[0].file) == as_written(LIGHTER)
    assert (await mentions("replaced")).get("outbox") == 1


async def test_a_recalculated_session_updates_its_garmin_workout_in_place_and_moves_it(
    export_api: ExportApi, deliver: Deliver
) -> None:
    await deliver(scheduled("usr_ana", "sess_1", days_ahead=2))
    garmin_user = await link_garmin(export_api, "usr_ana")
    before = await pushed(export_api, "usr_ana", "sess_1", "garmin")

    await deliver(changed("usr_ana", "sess_1", LIGHTER, days_ahead=4))
    await export_api.send()

    workouts = await export_api.providers.garmin_workouts(garmin_user)
    assert [str(w.workout_id) for w in workouts] == [before["provider_workout_id"]]
    assert workout_from_garmin(workouts[0].document) == as_sent(LIGHTER)
    assert workouts[0].scheduled_dates == [today() + timedelta(days=4)]


async def test_a_session_taken_out_of_the_plan_is_removed_from_the_device(
    export_api: ExportApi, deliver: Deliver, mentions: Mentions
) -> None:
    await deliver(scheduled("usr_ana", "sess_1"))
    garmin_user = await link_garmin(export_api, "usr_ana")
    export = await pushed(export_api, "usr_ana", "sess_1", "garmin")

    await deliver(changed("usr_ana", "sess_1", None, removed=True))
    await export_api.send()

    assert await export_api.providers.garmin_workouts(garmin_user) == []
    after = await export_api.client.get(
        f"/api/exports/{export['id']}", headers=export_api.identity.bearer("usr_ana")
    )
    assert after.json()["status"] == "removed"
    assert (await mentions("export.workout.removed")).get("outbox") == 1


async def test_a_higher_ftp_in_the_profile_pushes_the_upcoming_ride_again_with_its_power(
    export_api: ExportApi, deliver: Deliver
) -> None:
    planned_at = datetime.now(UTC) - timedelta(days=1)
    await deliver(scheduled("usr_ana", "sess_1", SWEET_SPOT_RIDE, planned_at=planned_at))
    garmin_user = await link_garmin(export_api, "usr_ana")
    await pushed(export_api, "usr_ana", "sess_1", "garmin")

    await deliver(profile_updated("usr_ana", ftp_watts=275, updated_at=datetime.now(UTC)))
    assert await export_api.send() == 1

    workouts = await export_api.providers.garmin_workouts(garmin_user)
    assert len(workouts) == 1
    intervals = workout_from_garmin(workouts[0].document).steps[1]
    assert intervals.steps[0].target.low == 242  # type: ignore[union-attr]  # 220 W x 275 / 250
    listed = await export_api.client.get("/api/exports", headers=export_api.identity.bearer("usr_ana"))
    assert listed.json()["exports"][0]["thresholds"]["ftp_w"] == 275


async def test_a_profile_change_that_moves_no_target_pushes_nothing(
    export_api: ExportApi, deliver: Deliver
) -> None:
    planned_at = datetime.now(UTC) - timedelta(days=1)
    await deliver(scheduled("usr_ana", "sess_1", SWEET_SPOT_RIDE, planned_at=planned_at))
    await link_garmin(export_api, "usr_ana")
    await pushed(export_api, "usr_ana", "sess_1", "garmin")

    await deliver(profile_updated("usr_ana", ftp_watts=250, updated_at=datetime.now(UTC)))

    assert await export_api.send() == 0


async def test_opting_in_pushes_the_next_seven_days_and_the_sessions_planned_later(
    export_api: ExportApi, deliver: Deliver
) -> None:
    for session_id, days_ahead in (("sess_soon", 1), ("sess_week", 6), ("sess_later", 9)):
        await deliver(scheduled("usr_ana", session_id, INTERVAL_RUN, days_ahead=days_ahead))
    garmin_user = await link_garmin(export_api, "usr_ana")

    chosen = await export_api.client.put(
        "/api/exports/settings",
        json={"auto_export": ["garmin"]},
        headers=export_api.identity.bearer("usr_ana"),
    )
    await deliver(scheduled("usr_ana", "sess_new", INTERVAL_RUN, days_ahead=3))
    await export_api.send()

    assert chosen.status_code == 200
    assert chosen.json()["auto_export"] == ["garmin"]
    workouts = await export_api.providers.garmin_workouts(garmin_user)
    assert sorted(d for w in workouts for d in w.scheduled_dates) == [
        today() + timedelta(days=days) for days in (1, 3, 6)
    ]


async def test_a_completed_session_brings_the_next_training_day_beyond_the_window(
    export_api: ExportApi, deliver: Deliver
) -> None:
    for session_id, days_ahead in (
        ("sess_done", 2),
        ("sess_next_a", 9),
        ("sess_next_b", 9),
        ("sess_after", 11),
    ):
        await deliver(scheduled("usr_ana", session_id, INTERVAL_RUN, days_ahead=days_ahead))
    garmin_user = await link_garmin(export_api, "usr_ana")
    await export_api.client.put(
        "/api/exports/settings",
        json={"auto_export": ["garmin"]},
        headers=export_api.identity.bearer("usr_ana"),
    )
    await export_api.send()

    await deliver(completed("usr_ana", "sess_done", days_ahead=2))
    await deliver(completed("usr_ana", "sess_done", days_ahead=2))  # a second look changes nothing
    await export_api.send()

    workouts = await export_api.providers.garmin_workouts(garmin_user)
    assert sorted(d for w in workouts for d in w.scheduled_dates) == [
        today() + timedelta(days=days) for days in (2, 9, 9)
    ]


async def test_a_completed_session_of_an_athlete_who_did_not_opt_in_pushes_nothing(
    export_api: ExportApi, deliver: Deliver
) -> None:
    for session_id, days_ahead in (("sess_done", 0), ("sess_next", 1)):
        await deliver(scheduled("usr_ana", session_id, INTERVAL_RUN, days_ahead=days_ahead))
    await link_garmin(export_api, "usr_ana")

    await deliver(completed("usr_ana", "sess_done", days_ahead=0))

    assert await export_api.send() == 0


async def test_an_athlete_who_did_not_opt_in_gets_nothing_pushed(
    export_api: ExportApi, deliver: Deliver
) -> None:
    await deliver(scheduled("usr_ana", "sess_1", days_ahead=1))
    await link_garmin(export_api, "usr_ana")

    assert await export_api.send() == 0


async def test_a_session_changed_while_its_push_is_under_way_is_pushed_again(
    export_api: ExportApi, deliver: Deliver
) -> None:
    await deliver(scheduled("usr_ana", "sess_1"))
    garmin_user = await link_garmin(export_api, "usr_ana")
    await export_api.client.post(
        "/api/sessions/sess_1/export",
        json={"provider": "garmin"},
        headers=export_api.identity.bearer("usr_ana"),
    )
    await export_api.providers.fail_next("garmin", "slow", "/workout-service/workout", seconds=0.6)

    sending = asyncio.create_task(export_api.send())
    await asyncio.sleep(0.2)
    await deliver(changed("usr_ana", "sess_1", LIGHTER))
    await sending
    assert await export_api.send() == 1

    workouts = await export_api.providers.garmin_workouts(garmin_user)
    assert len(workouts) == 1
    assert workout_from_garmin(workouts[0].document) == as_sent(LIGHTER)
