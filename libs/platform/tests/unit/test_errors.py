import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError

from relay_platform.errors import Conflict, NotFound, UpstreamError, install_error_handlers


class Goal(BaseModel):
    event_date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/goal")
    async def goal(body: Goal) -> Goal:
        return body

    @app.get("/programs/{program_id}")
    async def program(program_id: int) -> dict[str, int]:
        if program_id == 1:
            raise Conflict("Program already exists", details={"program_id": 1})
        if program_id == 2:
            raise UpstreamError("Strava is unavailable", code="strava_error")
        raise NotFound("No such program", details={"program_id": program_id})

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("database password is hunter2")

    return TestClient(app, raise_server_exceptions=False)


def test_invalid_body_is_a_400_validation_error_naming_the_field(client: TestClient) -> None:
    response = client.post("/goal", json={"event_date": "soon"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"]["field"] == "event_date"
    assert "event_date" in error["message"]


def test_domain_errors_keep_their_status_code_and_details(client: TestClient) -> None:
    assert client.get("/programs/1").json() == {
        "error": {"code": "conflict", "message": "Program already exists", "details": {"program_id": 1}}
    }
    assert client.get("/programs/1").status_code == 409
    response = client.get("/programs/2")
    assert (response.status_code, response.json()["error"]["code"]) == (502, "strava_error")
    assert client.get("/programs/3").status_code == 404


def test_an_unknown_route_and_a_wrong_method_answer_in_the_envelope(client: TestClient) -> None:
    assert client.get("/nowhere").json()["error"]["code"] == "not_found"
    response = client.delete("/goal")
    assert (response.status_code, response.json()["error"]["code"]) == (405, "method_not_allowed")


def test_an_unexpected_failure_is_a_500_that_reveals_nothing(client: TestClient) -> None:
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "hunter2" not in response.text


def _database_error(sqlstate: str) -> DBAPIError:
    """What SQLAlchemy raises when PostgreSQL refuses a statement with this SQLSTATE."""
    orig = Exception("refused")
    orig.sqlstate = sqlstate  # type: ignore[attr-defined]
    return DBAPIError("SELECT 1", {}, orig, connection_invalidated=sqlstate == "lost")


@pytest.fixture(scope="module")
def database_client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/admins")
    async def admins(sqlstate: str) -> None:
        raise _database_error(sqlstate)

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize("sqlstate", ["22021", "22P05"])
def test_text_with_a_nul_character_that_postgresql_refuses_is_a_400(
    database_client: TestClient, sqlstate: str
) -> None:
    response = database_client.get("/admins", params={"sqlstate": sqlstate})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["details"] == {"reason": "nul_character"}


def test_any_other_database_failure_is_still_a_500_that_reveals_nothing(database_client: TestClient) -> None:
    response = database_client.get("/admins", params={"sqlstate": "57P01"})
    assert response.status_code == 500
    assert response.json()["error"] == {
        "code": "internal_error",
        "message": "Something went wrong on our side; it has been logged.",
        "details": {},
    }


def test_a_database_out_of_reach_is_a_503_to_try_again(database_client: TestClient) -> None:
    response = database_client.get("/admins", params={"sqlstate": "lost"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "database_unavailable"
