"""An athlete downloads a planned session's workout as a FIT file or Garmin Connect JSON."""

import pytest

from export.fit import as_written, check_fit, read_fit
from export.garmin_json import as_sent, workout_from_garmin
from relay_testing.services import Deliver
from relay_testing.workouts import INTERVAL_RUN

from .conftest import ExportApi
from .exports_support import scheduled

pytestmark = pytest.mark.integration


async def test_the_athlete_downloads_a_fit_file_garmin_reads_back_as_planned(
    export_api: ExportApi, deliver: Deliver
) -> None:
    await deliver(scheduled("usr_ana", "sess_1"))

    response = await export_api.client.get(
        "/api/sessions/sess_1/workout.fit", headers=export_api.identity.bearer("usr_ana")
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.ant.fit"
    assert response.headers["content-disposition"].startswith("attachment;")
    check_fit(response.content)
    assert read_fit(response.content) == as_written(INTERVAL_RUN)


async def test_the_athlete_downloads_garmin_connect_json_of_the_same_workout(
    export_api: ExportApi, deliver: Deliver
) -> None:
    await deliver(scheduled("usr_ana", "sess_1"))

    response = await export_api.client.get(
        "/api/sessions/sess_1/workout.json", headers=export_api.identity.bearer("usr_ana")
    )

    assert response.status_code == 200
    document = response.json()
    assert document["sportType"] == {"sportTypeId": 1, "sportTypeKey": "running"}
    assert workout_from_garmin(document) == as_sent(INTERVAL_RUN)


@pytest.mark.parametrize("extension", ["fit", "json"])
async def test_another_athletes_session_is_not_found(
    export_api: ExportApi, deliver: Deliver, extension: str
) -> None:
    await deliver(scheduled("usr_ana", "sess_1"))

    response = await export_api.client.get(
        f"/api/sessions/sess_1/workout.{extension}", headers=export_api.identity.bearer("usr_bob")
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_a_download_needs_the_athletes_token(export_api: ExportApi, deliver: Deliver) -> None:
    await deliver(scheduled("usr_ana", "sess_1"))

    response = await export_api.client.get("/api/sessions/sess_1/workout.fit")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
