"""The connections service as export sees it: the internal token handout and the report of a token a
provider refused, for the links a test puts in place. Tokens are the fake providers' real ones."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

EXPORT_CALLER_TOKEN = "relay-test-export-caller"


@dataclass
class Link:
    user_id: str
    provider: str
    access_token: str
    status: str = "active"
    connection_id: str = field(default_factory=lambda: str(uuid.uuid4()))


class FakeConnections:
    def __init__(self) -> None:
        self.links: dict[tuple[str, str], Link] = {}
        self.rejections: list[dict[str, Any]] = []
        self.handouts = 0
        self.app = FastAPI()
        self.app.post("/internal/access-tokens")(self._issue)
        self.app.post("/internal/token-rejections")(self._rejected)

    def link(self, user_id: str, provider: str, access_token: str) -> Link:
        self.links[(user_id, provider)] = link = Link(user_id, provider, access_token)
        return link

    async def _issue(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {EXPORT_CALLER_TOKEN}":
            return _error(401, "unauthorized")
        body = await request.json()
        link = self.links.get((body["user_id"], body["provider"]))
        if link is None:
            return _error(404, "connection_not_found")
        if link.status != "active":
            return _error(409, link.status)
        self.handouts += 1
        answer = {
            "connection_id": link.connection_id,
            "user_id": link.user_id,
            "provider": link.provider,
            "provider_user_id": "unused",
            "auth_type": "oauth2",
            "access_token": link.access_token,
            "expires_at": None,
            "scopes": [],
            "refreshed": False,
        }
        return JSONResponse(answer)

    async def _rejected(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {EXPORT_CALLER_TOKEN}":
            return _error(401, "unauthorized")
        body = await request.json()
        self.rejections.append(body)
        for link in self.links.values():
            if link.connection_id == body["connection_id"]:
                link.status = "reauth_required"
                return JSONResponse({**body, "status": link.status})
        return _error(404, "connection_not_found")


def _error(status: int, code: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": code, "details": {}}}, status_code=status)
