"""The fake providers' workout-push APIs: COROS Training Hub's FIT imports and Garmin Connect's workout
service keep what they accept for tests to inspect, refuse what the real ones refuse in their own shapes
(the hub inside HTTP 200), and can be told to acknowledge an upload without keeping it. Driven with plain
httpx, as Relay's export service calls them."""

import copy
import hashlib
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
from garmin_fit_sdk import Encoder, Profile

from relay_testing.fakes.providers import FakeProviders, FakeProvidersClient, s256

REDIRECT_URI = "http://localhost:8080/api/providers/garmin/callback"
TIME_ZONE = "Europe/Paris"
RUNNING = {"sportTypeId": 1, "sportTypeKey": "running"}
IMPORT = "/activity/fit/import"
IMPORT_LIST = "/activity/fit/getImportSportList"
DELETE_IMPORT = "/activity/fit/deleteSportImport"
INVALID_FILE = {"result": "2001", "message": "Invalid file", "data": None}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


def workout_fit(name: str = "10 x 400 m") -> bytes:
    """A structured running workout as a FIT file, written with Garmin's own SDK."""
    mesg = Profile["mesg_num"]
    encoder = Encoder()
    encoder.write_mesg(
        {
            "mesg_num": mesg["FILE_ID"],
            "type": "workout",
            "manufacturer": "development",
            "product": 0,
            "serial_number": 4242,
            "time_created": datetime(2024, 6, 1, 6, tzinfo=UTC),
        }
    )
    encoder.write_mesg(
        {"mesg_num": mesg["WORKOUT"], "wkt_name": name, "sport": "running", "num_valid_steps": 2}
    )
    for step in (
        {"duration_type": "time", "duration_value": 600_000, "target_type": "open", "intensity": "warmup"},
        {
            "duration_type": "distance",
            "duration_value": 40_000,
            "target_type": "speed",
            "target_value": 0,
            "custom_target_value_low": 4000,
            "custom_target_value_high": 4200,
            "intensity": "active",
        },
    ):
        encoder.write_mesg({"mesg_num": mesg["WORKOUT_STEP"], "message_index": 0, **step})
    return encoder.close()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324 - the hub's own integrity check


def import_form(data: bytes, **overrides: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The multipart file and fields of an import as the seed app sends them (the file named
    workout.fit); a field set to None is left out."""
    fields = {"md5": md5(data), "fileSize": str(len(data)), "timeZone": TIME_ZONE} | overrides
    files = {"file": ("workout.fit", data, "application/octet-stream")}
    return files, {k: v for k, v in fields.items() if v is not None}


async def hub_token(http: httpx.AsyncClient, fake: FakeProviders, email: str = "lea@example.com") -> str:
    """A Training Hub account logged in: its `accessToken`."""
    await fake.add_coros_account(email, "s3cret!")
    pwd = hashlib.md5(b"s3cret!").hexdigest()  # noqa: S324 - the hub's own scheme
    login = await http.post(
        f"{hub_url(fake)}/account/login", json={"account": email, "accountType": 2, "pwd": pwd}
    )
    token: str = login.json()["data"]["accessToken"]
    return token


def hub_url(fake: FakeProviders) -> str:
    return fake.settings_env()["CONNECTIONS_COROS_TRAINING_HUB_URL"]


async def upload(
    http: httpx.AsyncClient, fake: FakeProviders, token: str, data: bytes, **overrides: str | None
) -> dict[str, Any]:
    files, fields = import_form(data, **overrides)
    response = await http.post(
        f"{hub_url(fake)}{IMPORT}", files=files, data=fields, headers={"accessToken": token}
    )
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


async def garmin_token(http: httpx.AsyncClient, fake: FakeProviders, user_id: str) -> str:
    """The athlete `user_id` consents at Garmin and the application exchanges the code: the token."""
    await fake.queue_user("garmin", user_id=user_id)
    verifier = secrets.token_urlsafe(48)
    params = {
        "client_id": fake.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "state": "st-1",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    authorize_url = str(httpx.URL(fake.urls("garmin")["authorize_url"], params=params))
    code = (await fake.authorize("garmin", authorize_url)).params["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "code_verifier": verifier,
    }
    response = await http.post(fake.urls("garmin")["token_url"], data=form)
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def workouts_url(fake: FakeProviders, path: str = "workout") -> str:
    return f"{fake.urls('garmin')['api_url']}/workout-service/{path}"


def step(
    order: int, step_type: tuple[int, str], condition: tuple[int, str], value: float | None
) -> dict[str, Any]:
    return {
        "type": "ExecutableStepDTO",
        "stepOrder": order,
        "stepType": {"stepTypeId": step_type[0], "stepTypeKey": step_type[1]},
        "endCondition": {"conditionTypeId": condition[0], "conditionTypeKey": condition[1]},
        "endConditionValue": value,
        "targetType": {"workoutTargetTypeId": 1, "workoutTargetTypeKey": "no.target"},
    }


def interval_workout(name: str = "10 x 400 m") -> dict[str, Any]:
    """A running workout in the seed app's JSON: warm-up, 10 x (400 m at 4.0-4.2 m/s, 90 s easy),
    cool-down."""
    fast = step(3, (3, "interval"), (3, "distance"), 400.0) | {
        "targetType": {"workoutTargetTypeId": 5, "workoutTargetTypeKey": "speed.zone"},
        "targetValueOne": 4.0,
        "targetValueTwo": 4.2,
    }
    repeat = {
        "type": "RepeatGroupDTO",
        "stepOrder": 2,
        "stepType": {"stepTypeId": 6, "stepTypeKey": "repeat"},
        "numberOfIterations": 10,
        "smartRepeat": False,
        "endCondition": {"conditionTypeId": 7, "conditionTypeKey": "iterations"},
        "endConditionValue": 10.0,
        "workoutSteps": [fast, step(4, (4, "recovery"), (2, "time"), 90.0)],
    }
    return {
        "workoutName": name,
        "description": None,
        "sportType": RUNNING,
        "workoutSegments": [
            {
                "segmentOrder": 1,
                "sportType": RUNNING,
                "workoutSteps": [
                    step(1, (1, "warmup"), (2, "time"), 900.0),
                    repeat,
                    step(5, (2, "cooldown"), (1, "lap.button"), None),
                ],
            }
        ],
        "estimatedDurationInSecs": 2700,
    }


def without_step_ids(document: dict[str, Any]) -> dict[str, Any]:
    def strip(steps: list[dict[str, Any]]) -> None:
        for step in steps:
            step.pop("stepId", None)
            strip(step.get("workoutSteps") or [])

    stripped = copy.deepcopy(document)
    for segment in stripped["workoutSegments"]:
        strip(segment["workoutSteps"])
    return stripped


def step_ids(document: dict[str, Any]) -> list[Any]:
    def walk(steps: list[dict[str, Any]]) -> list[Any]:
        return [i for s in steps for i in [s.get("stepId"), *walk(s.get("workoutSteps") or [])]]

    return [i for segment in document["workoutSegments"] for i in walk(segment["workoutSteps"])]


# COROS Training Hub


async def test_a_fit_file_imported_into_the_hub_is_listed_and_kept_byte_for_byte(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    token = await hub_token(http, fake_providers)
    data = workout_fit()

    answer = await upload(http, fake_providers, token, data)
    listed = await http.post(f"{hub_url(fake_providers)}{IMPORT_LIST}", headers={"accessToken": token})
    [kept] = await fake_providers.coros_imports("lea@example.com")

    assert answer == {
        "result": "0000",
        "data": {"importId": ANY, "status": "processing"},
        "message": "Upload successful",
    }
    import_id = answer["data"]["importId"]
    assert listed.json() == {
        "result": "0000",
        "message": "OK",
        "data": [
            {
                "importId": import_id,
                "fileName": "workout.fit",
                "md5": md5(data),
                "fileSize": len(data),
                "timeZone": TIME_ZONE,
                "createTime": ANY,
            }
        ],
    }
    assert (kept.import_id, kept.file, kept.md5, kept.time_zone, kept.file_name) == (
        import_id,
        data,
        md5(data),
        TIME_ZONE,
        "workout.fit",
    )
    assert await fake_providers.coros_imports("kofi@example.com") == []


@pytest.mark.parametrize(
    ("data", "overrides"),
    [
        pytest.param(workout_fit(), {"md5": md5(b"another file")}, id="md5 of another file"),
        pytest.param(workout_fit(), {"fileSize": "12"}, id="fileSize not the file's"),
        pytest.param(b"not a FIT file at all" * 8, {}, id="garbage with its own md5 and size"),
        pytest.param(workout_fit()[:-2] + b"\x00\x00", {}, id="FIT file with a broken CRC"),
        pytest.param(workout_fit(), {"timeZone": "Mars/Olympus_Mons"}, id="unknown time zone"),
        pytest.param(workout_fit(), {"timeZone": None}, id="no time zone"),
        pytest.param(workout_fit(), {"md5": None}, id="no md5"),
    ],
)
async def test_the_hub_refuses_an_invalid_file_with_2001_and_keeps_nothing(
    http: httpx.AsyncClient, fake_providers: FakeProviders, data: bytes, overrides: dict[str, str | None]
) -> None:
    token = await hub_token(http, fake_providers)

    answer = await upload(http, fake_providers, token, data, **overrides)

    assert answer == INVALID_FILE
    assert await fake_providers.coros_imports("lea@example.com") == []


async def test_the_hub_refuses_an_import_without_a_file_with_2001(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    token = await hub_token(http, fake_providers)
    _, fields = import_form(workout_fit())

    response = await http.post(
        f"{hub_url(fake_providers)}{IMPORT}", data=fields, headers={"accessToken": token}
    )

    assert (response.status_code, response.json()) == (200, INVALID_FILE)


async def test_the_hub_refuses_a_file_over_one_mebibyte_with_2002(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    token = await hub_token(http, fake_providers)
    fit = workout_fit()
    padded = fit + b"\x00" * (1024 * 1024 + 1 - len(fit))

    answer = await upload(http, fake_providers, token, padded)

    assert answer == {"result": "2002", "message": "File too large", "data": None}
    assert await fake_providers.coros_imports("lea@example.com") == []


async def test_the_hubs_file_size_limit_can_be_set() -> None:
    fake = FakeProviders(coros_max_import_bytes=64)
    transport = httpx.ASGITransport(app=fake.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://providers.test") as client:
        await fake.add_coros_account("lea@example.com", "s3cret!")
        pwd = hashlib.md5(b"s3cret!").hexdigest()  # noqa: S324 - the hub's own scheme
        login = await client.post(
            "/coros-hub/account/login", json={"account": "lea@example.com", "accountType": 2, "pwd": pwd}
        )
        files, fields = import_form(workout_fit())
        response = await client.post(
            f"/coros-hub{IMPORT}",
            files=files,
            data=fields,
            headers={"accessToken": login.json()["data"]["accessToken"]},
        )

    assert len(workout_fit()) > 64
    assert response.json()["result"] == "2002"


async def test_the_hub_answers_1002_for_an_expired_token_and_1003_for_an_unknown_one_on_every_call(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    token = await hub_token(http, fake_providers)
    await fake_providers.expire_coros_tokens()
    files, fields = import_form(workout_fit())
    hub = hub_url(fake_providers)

    for header, result in ((token, "1002"), ("forged", "1003")):
        imported = await http.post(
            f"{hub}{IMPORT}", files=files, data=fields, headers={"accessToken": header}
        )
        listed = await http.post(f"{hub}{IMPORT_LIST}", headers={"accessToken": header})
        deleted = await http.post(
            f"{hub}{DELETE_IMPORT}", json={"importId": "1"}, headers={"accessToken": header}
        )
        for response in (imported, listed, deleted):
            assert (response.status_code, response.json()["result"]) == (200, result)
    assert await fake_providers.coros_imports("lea@example.com") == []


async def test_a_deleted_import_leaves_the_list_and_an_unknown_or_anothers_answers_2003(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    lea = await hub_token(http, fake_providers)
    kofi = await hub_token(http, fake_providers, "kofi@example.com")
    first = (await upload(http, fake_providers, lea, workout_fit("Tempo")))["data"]["importId"]
    second = (await upload(http, fake_providers, lea, workout_fit("Hills")))["data"]["importId"]
    hub = hub_url(fake_providers)

    by_kofi = await http.post(
        f"{hub}{DELETE_IMPORT}", json={"importId": first}, headers={"accessToken": kofi}
    )
    deleted = await http.post(f"{hub}{DELETE_IMPORT}", json={"importId": first}, headers={"accessToken": lea})
    again = await http.post(f"{hub}{DELETE_IMPORT}", json={"importId": first}, headers={"accessToken": lea})
    listed = await http.post(f"{hub}{IMPORT_LIST}", headers={"accessToken": lea})

    not_found = {"result": "2003", "message": "Import record not found", "data": None}
    assert by_kofi.json() == not_found
    assert deleted.json() == {"result": "0000", "message": "OK", "data": None}
    assert again.json() == not_found
    assert [i["importId"] for i in listed.json()["data"]] == [second]
    assert [i.import_id for i in await fake_providers.coros_imports("lea@example.com")] == [second]


async def test_the_edge_records_an_import_with_its_fields_and_the_file_by_name(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    token = await hub_token(http, fake_providers)
    data = workout_fit()

    await upload(http, fake_providers, token, data)
    [received] = await fake_providers.received("coros-hub", IMPORT)

    assert received.fields == {
        "file": "workout.fit",
        "md5": md5(data),
        "fileSize": str(len(data)),
        "timeZone": TIME_ZONE,
    }


async def test_an_injected_server_error_on_the_hub_import_answers_5000_inside_http_200(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    token = await hub_token(http, fake_providers)
    await fake_providers.fail_next("coros-hub", "server_error", f"/coros-hub{IMPORT}")

    failed = await upload(http, fake_providers, token, workout_fit())
    retried = await upload(http, fake_providers, token, workout_fit())

    assert failed == {"result": "5000", "message": "Server error", "data": None}
    assert retried["result"] == "0000"
    assert len(await fake_providers.coros_imports("lea@example.com")) == 1


# Garmin Connect's workout service


async def test_a_garmin_workout_is_created_read_replaced_scheduled_and_deleted(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    token = await garmin_token(http, fake_providers, "7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10")
    sent = interval_workout()

    created = await http.post(workouts_url(fake_providers), json=sent, headers=bearer(token))
    workout = created.json()
    workout_url = workouts_url(fake_providers, f"workout/{workout['workoutId']}")
    read = await http.get(workout_url, headers=bearer(token))
    renamed = read.json() | {"workoutName": "12 x 400 m"}
    replaced = await http.put(workout_url, json=renamed, headers=bearer(token))
    reread = await http.get(workout_url, headers=bearer(token))
    scheduled = await http.post(
        workouts_url(fake_providers, f"schedule/{workout['workoutId']}"),
        json={"date": "2024-06-04"},
        headers=bearer(token),
    )
    await http.post(
        workouts_url(fake_providers, f"schedule/{workout['workoutId']}"),
        json={"date": "2024-06-11"},
        headers=bearer(token),
    )
    [stored] = await fake_providers.garmin_workouts("7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10")
    unscheduled = await http.delete(
        workouts_url(fake_providers, f"schedule/{scheduled.json()['workoutScheduleId']}"),
        headers=bearer(token),
    )
    [after_unscheduling] = await fake_providers.garmin_workouts("7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10")
    deleted = await http.delete(workout_url, headers=bearer(token))
    gone = await http.get(workout_url, headers=bearer(token))

    assert created.status_code == 200
    assert without_step_ids(workout) == sent | {
        "workoutId": ANY,
        "ownerId": ANY,
        "createdDate": ANY,
        "updatedDate": ANY,
    }
    assert isinstance(workout["workoutId"], int)
    assert isinstance(workout["ownerId"], int)
    assert datetime.strptime(workout["createdDate"], "%Y-%m-%dT%H:%M:%S.0")
    ids = step_ids(workout)
    assert len(ids) == 5
    assert all(isinstance(i, int) for i in ids)
    assert len(set(ids)) == 5
    assert (read.status_code, read.json()) == (200, workout)
    assert replaced.status_code == 204
    assert reread.json()["workoutName"] == "12 x 400 m"
    assert reread.json()["createdDate"] == workout["createdDate"]
    assert step_ids(reread.json()) == ids
    assert scheduled.status_code == 200
    assert scheduled.json() == {
        "workoutScheduleId": ANY,
        "workout": reread.json(),
        "calendarDate": "2024-06-04",
        "createdDate": ANY,
        "ownerId": workout["ownerId"],
        "newName": None,
        "consumer": None,
        "associatedActivityId": None,
        "priority": None,
    }
    assert (stored.workout_id, stored.document) == (workout["workoutId"], reread.json())
    assert stored.scheduled_dates == [date(2024, 6, 4), date(2024, 6, 11)]
    assert unscheduled.status_code == 204
    assert after_unscheduling.scheduled_dates == [date(2024, 6, 11)]
    assert deleted.status_code == 204
    assert gone.status_code == 404
    assert await fake_providers.garmin_workouts("7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10") == []


async def test_another_athletes_garmin_workout_and_schedule_are_not_found(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    owner = await garmin_token(http, fake_providers, "7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10")
    other = await garmin_token(http, fake_providers, "8f9a5221-639e-4a6c-b6b4-6cd2a1d0c6f0")
    workout_id = (
        await http.post(workouts_url(fake_providers), json=interval_workout(), headers=bearer(owner))
    ).json()["workoutId"]
    schedule = workouts_url(fake_providers, f"schedule/{workout_id}")
    schedule_id = (await http.post(schedule, json={"date": "2024-06-04"}, headers=bearer(owner))).json()[
        "workoutScheduleId"
    ]
    workout_url = workouts_url(fake_providers, f"workout/{workout_id}")

    answers = [
        await http.get(workout_url, headers=bearer(other)),
        await http.put(workout_url, json=interval_workout("Mine now"), headers=bearer(other)),
        await http.delete(workout_url, headers=bearer(other)),
        await http.post(schedule, json={"date": "2024-06-05"}, headers=bearer(other)),
        await http.delete(workouts_url(fake_providers, f"schedule/{schedule_id}"), headers=bearer(other)),
        await http.get(workouts_url(fake_providers, "workout/not-a-number"), headers=bearer(owner)),
    ]

    assert [a.status_code for a in answers] == [404] * 6
    assert answers[0].json() == {"errorMessage": "Workout not found"}
    [kept] = await fake_providers.garmin_workouts("7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10")
    assert (kept.document["workoutName"], kept.scheduled_dates) == ("10 x 400 m", [date(2024, 6, 4)])


async def test_the_garmin_workout_service_refuses_a_bad_or_expired_token_with_401(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    token = await garmin_token(http, fake_providers, "7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10")

    forged = await http.post(workouts_url(fake_providers), json=interval_workout(), headers=bearer("forged"))
    missing = await http.get(workouts_url(fake_providers, "workout/1"))
    await fake_providers.advance_clock(86400)
    expired = await http.post(workouts_url(fake_providers), json=interval_workout(), headers=bearer(token))

    for response in (forged, missing, expired):
        assert (response.status_code, response.json()) == (401, {"errorMessage": "Unauthorized"})
    assert await fake_providers.garmin_workouts("7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10") == []


def without(document: dict[str, Any], *path: str | int) -> dict[str, Any]:
    """The document without the field at `path` (keys and list indexes)."""
    changed = copy.deepcopy(document)
    parent: Any = changed
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return changed


def steps_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = document["workoutSegments"][0]["workoutSteps"]
    return steps


def changed(document: dict[str, Any], change: Any) -> dict[str, Any]:
    change(document)
    return document


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        pytest.param(without(interval_workout(), "workoutName"), "workoutName", id="no workoutName"),
        pytest.param(interval_workout() | {"workoutName": " "}, "workoutName", id="blank workoutName"),
        pytest.param(
            interval_workout() | {"sportType": {"sportTypeId": 99, "sportTypeKey": "quidditch"}},
            "sportType.sportTypeId",
            id="unknown sportTypeId",
        ),
        pytest.param(
            interval_workout() | {"sportType": {"sportTypeId": 1, "sportTypeKey": "cycling"}},
            "sportType.sportTypeKey",
            id="sportTypeKey not the id's",
        ),
        pytest.param(interval_workout() | {"workoutSegments": []}, "workoutSegments", id="no segments"),
        pytest.param(
            without(interval_workout(), "workoutSegments", 0, "workoutSteps", 0, "stepType"),
            "workoutSteps[0].stepType",
            id="step without stepType",
        ),
        pytest.param(
            without(interval_workout(), "workoutSegments", 0, "workoutSteps", 0, "endCondition"),
            "workoutSteps[0].endCondition",
            id="step without endCondition",
        ),
        pytest.param(
            without(interval_workout(), "workoutSegments", 0, "workoutSteps", 0, "endConditionValue"),
            "workoutSteps[0].endConditionValue",
            id="timed step without its time",
        ),
        pytest.param(
            without(interval_workout(), "workoutSegments", 0, "workoutSteps", 1, "numberOfIterations"),
            "workoutSteps[1].numberOfIterations",
            id="repeat without numberOfIterations",
        ),
        pytest.param(
            changed(interval_workout(), lambda d: steps_of(d)[1].update(workoutSteps=[])),
            "workoutSteps[1].workoutSteps",
            id="repeat without steps",
        ),
        pytest.param(
            changed(interval_workout(), lambda d: steps_of(d)[0].update(type="StepDTO")),
            "workoutSteps[0].type",
            id="unknown step type",
        ),
        pytest.param(["not", "a", "workout"], "JSON object", id="not an object"),
    ],
)
async def test_garmin_refuses_a_workout_connect_would_refuse_with_400(
    http: httpx.AsyncClient, fake_providers: FakeProviders, document: Any, problem: str
) -> None:
    token = await garmin_token(http, fake_providers, "7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10")

    created = await http.post(workouts_url(fake_providers), json=document, headers=bearer(token))

    assert created.status_code == 400
    assert problem in created.json()["errorMessage"]
    assert await fake_providers.garmin_workouts("7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10") == []


async def test_garmin_refuses_a_replacement_that_names_another_workout_with_400(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    token = await garmin_token(http, fake_providers, "7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10")
    created = await http.post(workouts_url(fake_providers), json=interval_workout(), headers=bearer(token))
    workout_id = created.json()["workoutId"]
    workout_url = workouts_url(fake_providers, f"workout/{workout_id}")

    elsewhere = await http.put(
        workout_url, json=created.json() | {"workoutId": workout_id + 1}, headers=bearer(token)
    )
    invalid = await http.put(
        workout_url, json=interval_workout() | {"workoutSegments": []}, headers=bearer(token)
    )

    assert (elsewhere.status_code, invalid.status_code) == (400, 400)
    assert (await http.get(workout_url, headers=bearer(token))).json() == created.json()


async def test_garmin_refuses_a_schedule_without_a_calendar_date_with_400(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    token = await garmin_token(http, fake_providers, "7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10")
    workout_id = (
        await http.post(workouts_url(fake_providers), json=interval_workout(), headers=bearer(token))
    ).json()["workoutId"]
    schedule = workouts_url(fake_providers, f"schedule/{workout_id}")

    for body in ({}, {"date": "20240604"}, {"date": "2024-02-30"}, {"date": 20240604}):
        assert (await http.post(schedule, json=body, headers=bearer(token))).status_code == 400


# Controls


async def test_a_pretended_upload_answers_success_with_an_id_and_keeps_nothing(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    hub = await hub_token(http, fake_providers)
    garmin = await garmin_token(http, fake_providers, "7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10")
    await fake_providers.pretend_next_upload("coros-hub")
    await fake_providers.pretend_next_upload("garmin")

    imported = await upload(http, fake_providers, hub, workout_fit())
    created = await http.post(workouts_url(fake_providers), json=interval_workout(), headers=bearer(garmin))
    listed = await http.post(f"{hub_url(fake_providers)}{IMPORT_LIST}", headers={"accessToken": hub})
    read = await http.get(
        workouts_url(fake_providers, f"workout/{created.json()['workoutId']}"), headers=bearer(garmin)
    )
    imported_for_real = await upload(http, fake_providers, hub, workout_fit())

    assert imported["result"] == "0000"
    assert imported["data"]["importId"]
    assert created.status_code == 200
    assert isinstance(created.json()["workoutId"], int)
    assert listed.json()["data"] == []
    assert read.status_code == 404
    assert await fake_providers.garmin_workouts("7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10") == []
    assert [i.import_id for i in await fake_providers.coros_imports("lea@example.com")] == [
        imported_for_real["data"]["importId"]
    ]


async def test_a_pretence_waits_for_an_upload_that_would_succeed(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    token = await hub_token(http, fake_providers)
    await fake_providers.pretend_next_upload("coros-hub")

    refused = await upload(http, fake_providers, token, b"garbage" * 20)
    pretended = await upload(http, fake_providers, token, workout_fit())

    assert refused == INVALID_FILE
    assert pretended["result"] == "0000"
    assert await fake_providers.coros_imports("lea@example.com") == []


async def test_reset_forgets_imports_workouts_and_pretences(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    hub = await hub_token(http, fake_providers)
    garmin = await garmin_token(http, fake_providers, "7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10")
    await upload(http, fake_providers, hub, workout_fit())
    await http.post(workouts_url(fake_providers), json=interval_workout(), headers=bearer(garmin))
    await fake_providers.pretend_next_upload("garmin", times=3)

    await fake_providers.reset()

    assert await fake_providers.coros_imports("lea@example.com") == []
    assert await fake_providers.garmin_workouts("7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10") == []
    garmin = await garmin_token(http, fake_providers, "7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10")
    await http.post(workouts_url(fake_providers), json=interval_workout(), headers=bearer(garmin))
    assert len(await fake_providers.garmin_workouts("7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10")) == 1


async def test_the_http_controls_see_the_same_imports_and_workouts_and_pretend_alike(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    control = FakeProvidersClient(
        fake_providers.url, client_id=fake_providers.client_id, client_secret=fake_providers.client_secret
    )
    hub = await hub_token(http, fake_providers)
    garmin = await garmin_token(http, fake_providers, "7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10")
    await upload(http, fake_providers, hub, workout_fit())
    workout_id = (
        await http.post(workouts_url(fake_providers), json=interval_workout(), headers=bearer(garmin))
    ).json()["workoutId"]
    await http.post(
        workouts_url(fake_providers, f"schedule/{workout_id}"),
        json={"date": "2024-06-04"},
        headers=bearer(garmin),
    )

    over_http = await control.coros_imports("lea@example.com")
    in_process = await fake_providers.coros_imports("lea@example.com")
    workouts_over_http = await control.garmin_workouts("7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10")
    await control.pretend_next_upload("coros-hub", times=2)
    pretended = [await upload(http, fake_providers, hub, workout_fit()) for _ in range(2)]

    assert over_http == in_process
    assert over_http[0].file == workout_fit()
    assert workouts_over_http == await fake_providers.garmin_workouts("7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10")
    assert workouts_over_http[0].scheduled_dates == [date(2024, 6, 4)]
    assert [p["result"] for p in pretended] == ["0000", "0000"]
    assert len(await control.coros_imports("lea@example.com")) == 1
    with pytest.raises(httpx.HTTPStatusError):
        await control.pretend_next_upload("coros-hub", times=0)
    await control.reset()
    assert await control.coros_imports("lea@example.com") == []
