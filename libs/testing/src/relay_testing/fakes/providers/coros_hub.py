"""COROS Training Hub's unofficial login, as the web app uses it: an email and the md5 of the password for
an `accessToken`, then `GET /account/query` (and the FIT imports, `workouts.py`) with that token in a
header. Answers are always HTTP 200; the outcome is in `result` ("0000" ok, "1001" bad credentials,
"1002" token expired, "1003" token invalid). The hub keeps only the md5 of each password, like the real
one."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from relay_testing.fakes.providers.dialects import ProviderError

ACCOUNT_TYPE_EMAIL = 2
INVALID_CREDENTIALS = {"result": "1001", "message": "Invalid credentials", "data": None}
TOKEN_EXPIRED = {"result": "1002", "message": "Token expired", "data": None}
TOKEN_INVALID = {"result": "1003", "message": "Token invalid", "data": None}
SERVER_ERROR = {"result": "5000", "message": "Server error", "data": None}


def md5_hex(text: str) -> str:
    # The hub's own password hashing, which its login expects; not a choice of ours.
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class CorosAccount(BaseModel):
    """A Training Hub account as `/account/query` describes it (never its password)."""

    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(default="", description="Generated (18 digits, as COROS writes them) when empty.")
    email: str
    nickname: str = "Relay athlete"
    avatar: str = "https://static.coros.com/images/avatar/default.png"
    country: str = "FR"

    def model_post_init(self, context: Any, /) -> None:
        self.user_id = self.user_id or str(secrets.randbelow(9 * 10**17) + 10**17)


@dataclass
class _HubToken:
    user_id: str
    expired: bool = False


class CorosHub:
    """The Training Hub's accounts and the tokens its logins gave."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._accounts: dict[str, tuple[CorosAccount, str]] = {}  # email -> (account, md5 of password)
        self._tokens: dict[str, _HubToken] = {}

    def add_account(self, account: CorosAccount, password: str) -> CorosAccount:
        self._accounts[account.email.lower()] = (account, md5_hex(password))
        return account

    def expire_tokens(self) -> None:
        for token in self._tokens.values():
            token.expired = True

    def login(self, body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """`POST /account/login`: the answer, and the token it gives (None when refused)."""
        email, pwd = body.get("account"), body.get("pwd")
        if body.get("accountType") != ACCOUNT_TYPE_EMAIL or not isinstance(email, str):
            return INVALID_CREDENTIALS, None
        known = self._accounts.get(email.lower())
        if known is None or not isinstance(pwd, str) or not secrets.compare_digest(pwd.lower(), known[1]):
            return INVALID_CREDENTIALS, None
        account = known[0]
        token = secrets.token_hex(16)
        self._tokens[token] = _HubToken(account.user_id)
        data = {"accessToken": token, "userId": account.user_id, "email": account.email}
        return {"result": "0000", "message": "success", "data": data}, token

    def account_of(self, access_token: str) -> CorosAccount:
        """The account an `accessToken` header speaks for; the hub's refusal otherwise, which it answers
        with HTTP 200 like its other outcomes."""
        token = self._tokens.get(access_token)
        if token is None:
            raise ProviderError(200, TOKEN_INVALID)
        if token.expired:
            raise ProviderError(200, TOKEN_EXPIRED)
        account = next((a for a, _ in self._accounts.values() if a.user_id == token.user_id), None)
        if account is None:
            raise ProviderError(200, TOKEN_INVALID)
        return account

    def account_by_email(self, email: str) -> CorosAccount | None:
        known = self._accounts.get(email.lower())
        return None if known is None else known[0]

    def query(self, access_token: str) -> dict[str, Any]:
        """`GET /account/query` with the `accessToken` header."""
        try:
            account = self.account_of(access_token)
        except ProviderError as refusal:
            return dict(refusal.body)
        data = {
            "userId": account.user_id,
            "email": account.email,
            "nickname": account.nickname,
            "avatar": account.avatar,
            "country": account.country,
        }
        return {"result": "0000", "message": "OK", "data": data}
