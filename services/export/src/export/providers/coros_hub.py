"""COROS Training Hub (`teamapi.coros.com`), the unofficial API of COROS's web app (seed 000): a workout
travels as a FIT file, imported with its MD5, its size and the athlete's time zone. Answers are HTTP 200
with a `result` code; the API can change without notice, so every call is logged and every unexpected
answer is a clear failure. An import cannot be edited: a changed workout is deleted and imported again."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import httpx

from export.fit import FitRangeError, InvalidFitFile, check_fit, encode_fit
from export.providers.base import (
    Outgoing,
    ProviderUnavailable,
    Pushed,
    TokenRejected,
    WorkoutRefused,
    call,
)
from relay_platform.logging import get_logger

log = get_logger(__name__)

KEY = "coros_training_hub"
OK = "0000"
TOKEN_REFUSALS = {"1001": "credentials_invalid", "1002": "token_expired", "1003": "token_invalid"}
FILE_REFUSALS = {
    "2001": ("invalid_file", "COROS refused the FIT file"),
    "2002": ("file_too_large", "the file is too large"),
}


class CorosTrainingHub:
    """`WorkoutPusher` for COROS Training Hub."""

    key = KEY

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")

    async def create(self, token: str, outgoing: Outgoing) -> Pushed:
        try:
            data = encode_fit(outgoing.workout, created_at=datetime.now(UTC))
            check_fit(data)
        except (FitRangeError, InvalidFitFile) as error:
            raise WorkoutRefused(
                "COROS", "invalid_file", f"the workout makes no valid FIT file: {error}"
            ) from error
        answer = await self._call(
            "import",
            token,
            "/activity/fit/import",
            files={"file": (file_name(outgoing), data, "application/octet-stream")},
            data={
                "md5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
                "fileSize": str(len(data)),
                "timeZone": outgoing.time_zone,
            },
        )
        import_id = (answer or {}).get("importId")
        if not import_id:
            raise ProviderUnavailable("COROS import answered no importId")
        return Pushed(workout_id=str(import_id))

    async def update(self, token: str, pushed: Pushed, outgoing: Outgoing, moved: bool) -> tuple[Pushed, str]:
        await self.remove(token, pushed)
        return await self.create(token, outgoing), "replaced"

    async def find(self, token: str, outgoing: Outgoing) -> Pushed | None:
        for item in await self._imports(token):
            if item.get("fileName") == file_name(outgoing) and item.get("importId"):
                return Pushed(workout_id=str(item["importId"]))
        return None

    async def finish(self, token: str, found: Pushed, outgoing: Outgoing, moved: bool) -> Pushed:
        return found  # an import is all there is: its day is in the file

    async def holds(self, token: str, pushed: Pushed, outgoing: Outgoing) -> bool:
        return await self._has(token, pushed.workout_id)

    async def remove(self, token: str, pushed: Pushed) -> None:
        # Deleting an import already gone is not an error: the athlete may have deleted it on COROS.
        if await self._has(token, pushed.workout_id):
            await self._call(
                "delete", token, "/activity/fit/deleteSportImport", json={"importId": pushed.workout_id}
            )

    async def _has(self, token: str, import_id: str) -> bool:
        return any(str(item.get("importId")) == import_id for item in await self._imports(token))

    async def _imports(self, token: str) -> list[dict[str, Any]]:
        answer = await self._call("import_list", token, "/activity/fit/getImportSportList")
        items = answer.get("list", []) if isinstance(answer, dict) else answer
        return [item for item in items or [] if isinstance(item, dict)]

    async def _call(self, name: str, token: str, path: str, **kwargs: Any) -> Any:
        response = await call(
            self._http, "COROS", "POST", self._base_url + path, headers={"accessToken": token}, **kwargs
        )
        result = _json(response).get("result") if response.status_code == 200 else None
        log.info("coros_hub_called", call=name, status=response.status_code, result=result)
        if response.status_code != 200:
            raise ProviderUnavailable(f"COROS {name} answered HTTP {response.status_code}")
        if result == OK:
            return _json(response).get("data")
        if result in TOKEN_REFUSALS:
            raise TokenRejected("COROS", TOKEN_REFUSALS[result])
        if result in FILE_REFUSALS:
            reason, message = FILE_REFUSALS[result]
            raise WorkoutRefused("COROS", reason, message)
        raise ProviderUnavailable(f"COROS {name} answered result {result!r}")


def file_name(outgoing: Outgoing) -> str:
    return f"{outgoing.reference}.fit"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
