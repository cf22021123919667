"""The athletes who consent at the providers: one model for all of them, ids in each provider's own
format, and the way each provider's API describes them."""

from __future__ import annotations

import random
import string
import uuid
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from relay_testing.fakes.providers.dialects import DIALECTS, Provider

_FIRST_NAMES = ("Lea", "Noah", "Ines", "Tomas", "Maja", "Kofi", "Aiko", "Luca", "Sofia", "Mateo")
_LAST_NAMES = ("Brun", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Costa", "Novak", "Haddad", "Weber")
_ENCODED_ID_ALPHABET = string.ascii_uppercase + string.digits

_rng = random.Random()


class ProviderUser(BaseModel):
    """An athlete's account at one provider. `user_id` is the provider's id written as a string: a uuid
    for Garmin and Oura, digits for Polar, WHOOP and Wahoo, a 6-character encoded id for Fitbit, and
    32 hex characters (the openId) for COROS."""

    model_config = ConfigDict(extra="forbid")

    provider: Provider
    user_id: str = Field(default="", description="Generated in the provider's format when empty.")
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    birthdate: date = date(1988, 5, 14)
    gender: Literal["MALE", "FEMALE"] = "FEMALE"
    weight: float = Field(default=61.5, description="kg")
    height: float = Field(default=168.0, description="cm")
    avatar: str = ""
    country: str = "FR"
    scopes: list[str] | None = Field(
        default=None, description="Scopes the athlete leaves ticked (of those asked); None: all of them."
    )

    @field_validator("user_id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @model_validator(mode="after")
    def _fill_in(self) -> ProviderUser:
        kind = DIALECTS[self.provider].user_id_kind
        if not self.user_id:
            self.user_id = new_user_id(self.provider)
        elif kind == "int" and not self.user_id.isdigit():
            raise ValueError(f"a {self.provider} user id is an integer, not {self.user_id!r}")
        self.first_name = self.first_name or _rng.choice(_FIRST_NAMES)
        self.last_name = self.last_name or _rng.choice(_LAST_NAMES)
        if not self.email:
            local = f"{self.first_name}.{self.last_name}.{self.user_id[-4:]}".lower()
            self.email = f"{local}@example.com"
        self.avatar = self.avatar or f"https://avatars.example.com/{self.provider}/{self.user_id}.jpg"
        return self

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def age(self, today: date) -> int:
        had_birthday = (today.month, today.day) >= (self.birthdate.month, self.birthdate.day)
        return today.year - self.birthdate.year - (0 if had_birthday else 1)


def new_user_id(provider: Provider) -> str:
    kind = DIALECTS[provider].user_id_kind
    if kind == "uuid":
        return str(uuid.uuid4())
    if kind == "hex":
        return uuid.uuid4().hex
    if kind == "encoded":
        return "".join(_rng.choice(_ENCODED_ID_ALPHABET) for _ in range(6))
    return str(_rng.randint(10_000, 99_999_999))


def garmin_user_id(user: ProviderUser) -> dict[str, Any]:
    return {"userId": user.user_id}


def polar_registration(user: ProviderUser, member_id: str, registered_at: datetime) -> dict[str, Any]:
    return {
        "polar-user-id": int(user.user_id),
        "member-id": member_id,
        "registration-date": registered_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "first-name": user.first_name,
        "last-name": user.last_name,
        "birthdate": user.birthdate.isoformat(),
        "gender": user.gender,
        "weight": user.weight,
        "height": user.height,
        "extra-info": [],
    }


def oura_personal_info(user: ProviderUser, today: date) -> dict[str, Any]:
    return {
        "id": user.user_id,
        "age": user.age(today),
        "weight": user.weight,
        "height": round(user.height / 100, 2),  # Oura gives metres
        "biological_sex": user.gender.lower(),
        "email": user.email,
    }


def whoop_profile(user: ProviderUser) -> dict[str, Any]:
    return {
        "user_id": int(user.user_id),
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
    }


def fitbit_profile(user: ProviderUser) -> dict[str, Any]:
    return {
        "user": {
            "encodedId": user.user_id,
            "displayName": f"{user.first_name} {user.last_name[:1]}.",
            "fullName": user.full_name,
            "firstName": user.first_name,
            "lastName": user.last_name,
            "avatar": user.avatar,
            "avatar150": user.avatar,
            "gender": user.gender,
            "dateOfBirth": user.birthdate.isoformat(),
            "height": user.height,
            "weight": user.weight,
            "country": user.country,
            "memberSince": "2019-04-02",
            "timezone": "Europe/Paris",
        }
    }


def wahoo_user(user: ProviderUser) -> dict[str, Any]:
    moment = "2021-03-04T08:15:42.000Z"
    return {
        "id": int(user.user_id),
        "email": user.email,
        "first": user.first_name,
        "last": user.last_name,
        "height": f"{user.height / 100:.2f}",  # Wahoo gives metres and kilograms as text
        "weight": f"{user.weight:.1f}",
        "birth": user.birthdate.isoformat(),
        "gender": 1 if user.gender == "FEMALE" else 0,
        "created_at": moment,
        "updated_at": moment,
    }
