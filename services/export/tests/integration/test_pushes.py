"""An athlete's session pushed to COROS Training Hub and Garmin Connect: queued, sent, read back, and
never made twice, whatever the provider answers."""

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from export.fit import as_written, read_fit
from export.garmin_json import as_sent, workout_from_garmin
from relay_testing.services import Deliver, Mentions
from relay_testing.workouts import INTERVAL_RUN

from .conftest import ExportApi
from .exports_support import link_coros, link_garmin, scheduled, today

pytestmark = pytest.mark.integration


async def ask_export(
    api: ExportApi, user_id: str, session_id: str, provider: str, key: str | None = None
) -> Any:
    headers = api.identity.bearer(user_id) | ({"Idempotency-Key": key} if key else {})
    return await api.client.post(
        f"/api/sessions/{session_id}/export", json={"provider": provider}, headers=headers
    )


async def export_of(api: ExportApi, user_id: str, export_id: str) -> dict[str, Any]:
    response = await api.client.get(f"/api/exports/{export_id}", headers=api.identity.bearer(user_id))
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_a_session_pushed_to_coros_arrives_as_the_planned_fit_file(
    export_api: ExportApi, deliver: Deliver, mentions: Mentions
) -> None:
    await deliver(scheduled("usr_ana", "sess_1"))
    email = await link_coros(export_api, "usr_ana")

    asked = await ask_export(export_api, "usr_ana", "sess_1", "coros_training_hub")
    assert asked.status_code == 202
    assert asked.json()["status"] == "queued"
    assert await export_api.send() == 1

    imports = await export_api.providers.coros_imports(email)
    assert len(imports) == 1
    assert read_fit(imports[0].file) == as_written(INTERVAL_RUN)
    assert imports[0].time_zone == "UTC"  # no profile known: the athlete's zone is not guessed
    export = await export_of(export_api, "usr_ana", asked.json()["id"])
    assert export["status"] == "exported"
    assert export["provider_workout_id"] == imports[0].import_id
    assert export["verified_at"] is not None
    assert export["thresholds"]["ftp_w"] == 250
    assert (await mentions("export.workout.exported")).get("outbox") == 1
    assert (await mentions("export.workout.verified")).get("outbox") == 1


async def test_a_session_pushed_to_garmin_is_created_and_scheduled_on_its_day(
    export_api: ExportApi, deliver: Deliver
) -> None:
    await deliver(scheduled("usr_ana", "sess_1", days_ahead=3))
    garmin_user = await link_garmin(export_api, "usr_ana")

    asked = await ask_export(export_api, "usr_ana", "sess_1", "garmin")
    await export_api.send()

    workouts = await export_api.providers.garmin_workouts(garmin_user)
    assert len(workouts) == 1
    assert workout_from_garmin(workouts[0].document) == as_sent(INTERVAL_RUN)
    assert workouts[0].scheduled_dates == [today() + timedelta(days=3)]
    export = await export_of(export_api, "usr_ana", asked.json()["id"])
    assert (export["status"], export["provider_workout_id"]) == ("exported", str(workouts[0].workout_id))


async def test_asking_again_with_the_same_key_returns_the_same_export_and_pushes_once(
    export_api: ExportApi, deliver: Deliver
) -> None:
    await deliver(scheduled("usr_ana", "sess_1"))
    email = await link_coros(export_api, "usr_ana")

    first = await ask_export(export_api, "usr_ana", "sess_1", "coros_training_hub", key="key-0001-abcd")
    again = await ask_export(export_api, "usr_ana", "sess_1", "coros_training_hub", key="key-0001-abcd")
    await export_api.send()
    after = await ask_export(export_api, "usr_ana", "sess_1", "coros_training_hub", key="key-0001-abcd")

    assert (first.status_code, again.status_code, after.status_code) == (202, 200, 200)
    assert first.json()["id"] == again.json()["id"] == after.json()["id"]
    assert len(await export_api.providers.coros_imports(email)) == 1


async def test_asking_again_after_the_push_does_not_make_a_second_workout(
    export_api: ExportApi, deliver: Deliver
) -> None:
    await deliver(scheduled("usr_ana", "sess_1"))
    garmin_user = await link_garmin(export_api, "usr_ana")

    await ask_export(export_api, "usr_ana", "sess_1", "garmin")
    await export_api.send()
    await ask_export(export_api, "usr_ana", "sess_1", "garmin")
    await export_api.send()

    assert len(await export_api.providers.garmin_workouts(garmin_user)) == 1


async def test_a_key_used_for_another_session_is_a_conflict(export_api: ExportApi, deliver: Deliver) -> None:
    await deliver(scheduled("usr_ana", "sess_1"))
    await deliver(scheduled("usr_ana", "sess_2"))

    await ask_export(export_api, "usr_ana", "sess_1", "garmin", key="key-0002-abcd")
    reused = await ask_export(export_api, "usr_ana", "sess_2", "garmin", key="key-0002-abcd")

    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "conflict"


async def test_a_server_error_is_retried_and_the_workout_arrives_once(
    export_api: ExportApi, deliver: Deliver
) -> None:
    await deliver(scheduled("usr_ana", "sess_1"))
    email = await link_coros(export_api, "usr_ana")
    await export_api.providers.fail_next("coros-hub", "server_error", "/activity/fit/import")

    asked = await ask_export(export_api, "usr_ana", "sess_1", "coros_training_hub")
    await export_api.send()
    retrying = await export_of(export_api, "usr_ana", asked.json()["id"])
    await export_api.send()

    assert (retrying["status"], retrying["attempts"]) == ("queued", 1)
    assert "5000" in retrying["error"]
    assert len(await export_api.providers.coros_imports(email)) == 1
    assert (await export_of(export_api, "usr_ana", asked.json()["id"]))["status"] == "exported"


async def test_an_upload_answered_too_late_is_found_again_not_uploaded_twice(
    export_api: ExportApi, deliver: Deliver
) -> None:
    await deliver(scheduled("usr_ana", "sess_1"))
    email = await link_coros(export_api, "usr_ana")
    # The hub takes the file but answers after the sender gave up (1 s).
    await export_api.providers.fail_next("coros-hub", "slow", "/activity/fit/import", seconds=1.5)

    asked = await ask_export(export_api, "usr_ana", "sess_1", "coros_training_hub")
    await export_api.send()
    await _until_imported(export_api, email)
    await export_api.send()

    imports = await export_api.providers.coros_imports(email)
    assert len(imports) == 1
    export = await export_of(export_api, "usr_ana", asked.json()["id"])
    assert (export["status"], export["provider_workout_id"]) == ("exported", imports[0].import_id)


async def test_a_garmin_workout_created_after_the_sender_gave_up_is_found_again_and_put_on_its_day(
    export_api: ExportApi, deliver: Deliver
) -> None:
    await deliver(scheduled("usr_ana", "sess_1", days_ahead=3))
    garmin_user = await link_garmin(export_api, "usr_ana")
    # Garmin creates the workout but answers after the sender gave up (1 s), before it was scheduled.
    await export_api.providers.fail_next("garmin", "slow", "/workout-service/workout", seconds=1.5)

    asked = await ask_export(export_api, "usr_ana", "sess_1", "garmin")
    await export_api.send()
    for _ in range(50):
        if await export_api.providers.garmin_workouts(garmin_user):
            break
        await asyncio.sleep(0.1)
    await export_api.send()

    workouts = await export_api.providers.garmin_workouts(garmin_user)
    assert len(workouts) == 1
    assert workouts[0].scheduled_dates == [today() + timedelta(days=3)]
    export = await export_of(export_api, "usr_ana", asked.json()["id"])
    assert (export["status"], export["provider_workout_id"]) == ("exported", str(workouts[0].workout_id))


async def _until_imported(api: ExportApi, email: str) -> None:
    for _ in range(50):
        if await api.providers.coros_imports(email):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the slow import never landed")


async def test_a_provider_saying_success_without_creating_is_caught_and_tried_again(
    export_api: ExportApi, deliver: Deliver
) -> None:
    await deliver(scheduled("usr_ana", "sess_1"))
    garmin_user = await link_garmin(export_api, "usr_ana")
    await export_api.providers.pretend_next_upload("garmin")

    asked = await ask_export(export_api, "usr_ana", "sess_1", "garmin")
    await export_api.send()
    caught = await export_of(export_api, "usr_ana", asked.json()["id"])
    await export_api.send()

    assert caught["status"] == "queued"
    assert "does not hold" in caught["error"]
    assert len(await export_api.providers.garmin_workouts(garmin_user)) == 1
    assert (await export_of(export_api, "usr_ana", asked.json()["id"]))["status"] == "exported"


async def test_a_provider_that_never_creates_the_workout_ends_in_a_clear_failure(
    export_api: ExportApi, deliver: Deliver, mentions: Mentions
) -> None:
    await deliver(scheduled("usr_ana", "sess_1"))
    email = await link_coros(export_api, "usr_ana")
    await export_api.providers.pretend_next_upload("coros-hub", times=3)

    asked = await ask_export(export_api, "usr_ana", "sess_1", "coros_training_hub")
    for _ in range(3):
        await export_api.send()

    export = await export_of(export_api, "usr_ana", asked.json()["id"])
    assert (export["status"], export["failure_reason"], export["attempts"]) == ("failed", "not_created", 3)
    assert await export_api.providers.coros_imports(email) == []
    assert (await mentions("export.workout.failed")).get("outbox") == 1


async def test_an_expired_coros_token_asks_the_athlete_to_link_again(
    export_api: ExportApi, deliver: Deliver
) -> None:
    await deliver(scheduled("usr_ana", "sess_1"))
    await link_coros(export_api, "usr_ana")
    await export_api.providers.expire_coros_tokens()

    asked = await ask_export(export_api, "usr_ana", "sess_1", "coros_training_hub")
    await export_api.send()

    export = await export_of(export_api, "usr_ana", asked.json()["id"])
    assert (export["status"], export["failure_reason"]) == ("failed", "reauth_required")
    assert [r["reason"] for r in export_api.connections.rejections] == ["token_expired"]
    assert export_api.connections.links[("usr_ana", "coros_training_hub")].status == "reauth_required"


async def test_an_athlete_without_the_provider_gets_a_clear_failure(
    export_api: ExportApi, deliver: Deliver
) -> None:
    await deliver(scheduled("usr_ana", "sess_1"))

    asked = await ask_export(export_api, "usr_ana", "sess_1", "garmin")
    await export_api.send()

    export = await export_of(export_api, "usr_ana", asked.json()["id"])
    assert (export["status"], export["failure_reason"]) == ("failed", "not_connected")


async def test_nobody_exports_or_reads_another_athletes_session(
    export_api: ExportApi, deliver: Deliver
) -> None:
    await deliver(scheduled("usr_ana", "sess_1"))
    asked = await ask_export(export_api, "usr_ana", "sess_1", "garmin")

    theirs = await ask_export(export_api, "usr_bob", "sess_1", "garmin")
    peek = await export_api.client.get(
        f"/api/exports/{asked.json()['id']}", headers=export_api.identity.bearer("usr_bob")
    )
    listed = await export_api.client.get("/api/exports", headers=export_api.identity.bearer("usr_bob"))

    assert theirs.status_code == 404
    assert peek.status_code == 404
    assert listed.json()["exports"] == []


async def test_an_unknown_provider_is_refused_in_the_envelope(
    export_api: ExportApi, deliver: Deliver
) -> None:
    await deliver(scheduled("usr_ana", "sess_1"))

    refused = await ask_export(export_api, "usr_ana", "sess_1", "strava")

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "validation_error"
    listed = await export_api.client.get("/api/exports", headers=export_api.identity.bearer("usr_ana"))
    assert listed.json()["total"] == 0
