"""COROS Training Hub (`teamapi.coros.com`), the unofficial API COROS's own web app uses: the athlete's
email and password are traded once for an access token, which is what sending workouts needs.

It is not a published API and can change without notice (PROVIDERS.md): every call is logged and every
failure says clearly what went wrong. The password is hashed (MD5, as the Training Hub expects) for
that one request and dropped; neither it nor its hash is logged, kept or put in a message. The hash is
as good as the password to this API, so it is treated as one."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
from pydantic import SecretStr

from connections.providers.base import AuthorizationRefused, LinkedAccount, ProviderUnavailable, Tokens
from connections.providers.calls import json_body, send, unexpected

KEY = "coros_training_hub"
ACCOUNT_TYPE_EMAIL = 2

OK = "0000"
WRONG_CREDENTIALS = "1001"

RESULT_MEANINGS = {
    WRONG_CREDENTIALS: "wrong email or password",
    "1002": "access token expired",
    "1003": "access token invalid",
    "5000": "server error",
}
"""The Training Hub's result codes (PROVIDERS.md, COROS); it answers them with HTTP 200."""


def password_digest(password: SecretStr) -> str:
    """What the Training Hub expects instead of the password: its MD5, in hex."""
    return hashlib.md5(password.get_secret_value().encode(), usedforsecurity=False).hexdigest()


class CorosTrainingHub:
    """`base.PasswordProvider` for COROS's Training Hub."""

    key = KEY

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")

    async def login(self, *, email: str, password: SecretStr) -> LinkedAccount:
        """The athlete's Training Hub account and its access token. `AuthorizationRefused` when COROS
        does not recognise the email and password; `ProviderUnavailable` when it fails."""
        data = await self._call(
            "login",
            "POST",
            "/account/login",
            json={"account": email, "accountType": ACCOUNT_TYPE_EMAIL, "pwd": password_digest(password)},
        )
        access_token = data.get("accessToken")
        if not isinstance(access_token, str) or not access_token:
            raise ProviderUnavailable(self.key, "login: answered no access token")
        tokens = Tokens(access_token=SecretStr(access_token))
        account = await self._call(
            "account_query", "GET", "/account/query", headers={"accessToken": access_token}
        )
        user_id = account.get("userId") or data.get("userId")
        if isinstance(user_id, bool) or not isinstance(user_id, str | int) or not str(user_id):
            raise ProviderUnavailable(self.key, "account_query: answered no user id")
        nickname = account.get("nickname")
        profile = {
            "display_name": nickname,
            "picture": account.get("avatar"),
            "country": account.get("country"),
            "email": account.get("email"),
        }
        return LinkedAccount(
            provider_user_id=str(user_id),
            tokens=tokens,
            username=str(nickname) if nickname else None,
            profile={name: value for name, value in profile.items() if value not in (None, "")},
        )

    async def _call(self, endpoint: str, method: str, path: str, **request: Any) -> dict[str, Any]:
        """The answer's `data` when COROS says `0000`. COROS answers its errors with HTTP 200 and a
        result code, or with a plain 5xx."""
        response = await send(self._http, self.key, endpoint, method, f"{self._base_url}{path}", **request)
        body = json_body(response)
        if response.status_code != 200 or not isinstance(body, dict) or "result" not in body:
            raise unexpected(self.key, endpoint, response)
        result = str(body["result"])
        if result == OK:
            data = body.get("data")
            if not isinstance(data, dict):
                raise ProviderUnavailable(self.key, f"{endpoint}: answered no data")
            return data
        meaning = RESULT_MEANINGS.get(result, "unknown result")
        if endpoint == "login" and result == WRONG_CREDENTIALS:
            raise AuthorizationRefused(self.key, meaning)
        # Anything else, including the token just issued being refused, is COROS failing.
        raise ProviderUnavailable(self.key, f"{endpoint}: {meaning} (result {result})")
