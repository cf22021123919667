"""What Relay knows about each provider it links to, as data: how an athlete links it, what it sends,
whether Relay can send workouts to it, and what the athlete must be told before linking.

COROS appears twice, under one brand: its official API (`coros`, OAuth 2.0: activities pushed to Relay)
and its unofficial Training Hub (`coros_training_hub`, email and password: where workouts are sent).
They are separate links because they serve different purposes, hold different tokens (a Training Hub
token does not open the official API, nor the reverse) and an athlete may well hold both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from connections.providers.base import AuthType

DataType = Literal[
    "activities",
    "daily_summaries",
    "sleep",
    "recovery",
    "heart_rate",
    "hrv",
    "body_measurements",
]
"""What a provider sends Relay. `activities` are completed sessions (Strava's activities, Oura's and
WHOOP's workouts, Polar's exercises); `recovery` is WHOOP's recovery, Oura's readiness, Polar's Nightly
Recharge; `daily_summaries` are steps, calories and strain per day."""


@dataclass(frozen=True)
class ProviderSpec:
    key: str
    """Relay's name for the link: settings (`CONNECTIONS_<KEY>__...`), URLs, stored credentials."""
    name: str
    """How the app names it."""
    brand: str
    """Links of one brand are shown together (COROS's official API and its Training Hub)."""
    auth_type: AuthType
    """How a new link is made."""
    default_scopes: tuple[str, ...] = ()
    scope_separator: str = " "
    data_types: tuple[DataType, ...] = ()
    exports_workouts: bool = False
    """Relay can send planned workouts there."""
    webhooks: bool = False
    """The provider tells Relay when there is new data (push or ping), rather than being polled."""
    unsigned_webhooks: bool = False
    """Its webhooks prove nothing of their origin (Strava's): a deauthorization they announce is confirmed
    with the provider before Relay acts on it."""
    revocable: bool = False
    """Relay can withdraw its own access at the provider when the athlete unlinks."""
    refreshes: bool = False
    """Access tokens expire and are renewed without the athlete."""
    unofficial: bool = False
    """Not a published API: it may change or stop without notice."""
    notice: str | None = None
    """What the athlete must read before linking, or about links made the old way."""
    legacy_auth: AuthType | None = None
    """How older links were made, still honoured until the provider stops (Garmin's OAuth 1.0a): no new
    link is made this way."""

    def scopes_from(self, configured: str) -> tuple[str, ...]:
        """The scopes a setting names, in this provider's separator; the defaults when it names none."""
        parts = configured.split(self.scope_separator.strip() or None)
        scopes = tuple(part.strip() for part in parts if part.strip())
        return scopes or self.default_scopes


PROVIDERS: dict[str, ProviderSpec] = {
    spec.key: spec
    for spec in (
        ProviderSpec(
            key="strava",
            name="Strava",
            brand="strava",
            auth_type="oauth2",
            default_scopes=("read", "activity:read_all", "profile:read_all"),
            scope_separator=",",
            data_types=("activities",),
            webhooks=True,
            unsigned_webhooks=True,
            revocable=True,
            refreshes=True,
        ),
        ProviderSpec(
            key="garmin",
            name="Garmin Connect",
            brand="garmin",
            auth_type="oauth2_pkce",
            data_types=("activities", "daily_summaries", "sleep", "heart_rate", "hrv"),
            exports_workouts=True,
            webhooks=True,
            revocable=True,
            refreshes=True,
            legacy_auth="oauth1",
            notice="Garmin retires OAuth 1.0a at the end of 2026: a Garmin link made that way must be "
            "made again before then.",
        ),
        ProviderSpec(
            key="coros",
            name="COROS",
            brand="coros",
            auth_type="oauth2",
            data_types=("activities", "daily_summaries", "sleep"),
            webhooks=True,
            revocable=True,
            refreshes=True,
        ),
        ProviderSpec(
            key="coros_training_hub",
            name="COROS Training Hub",
            brand="coros",
            auth_type="password",
            exports_workouts=True,
            unofficial=True,
            notice="COROS Training Hub is an unofficial route: it may change or stop without notice. "
            "Your COROS password is used once, to sign in, and is never stored.",
        ),
        ProviderSpec(
            key="polar",
            name="Polar",
            brand="polar",
            auth_type="oauth2",
            default_scopes=("accesslink.read_all",),
            data_types=("activities", "sleep", "recovery", "heart_rate"),
            webhooks=True,
            revocable=True,
        ),
        ProviderSpec(
            key="oura",
            name="Oura",
            brand="oura",
            auth_type="oauth2",
            default_scopes=("email", "personal", "daily", "heartrate", "workout", "session", "spo2"),
            data_types=("activities", "daily_summaries", "sleep", "recovery", "heart_rate", "hrv"),
            webhooks=True,
            revocable=True,
            refreshes=True,
        ),
        ProviderSpec(
            key="whoop",
            name="WHOOP",
            brand="whoop",
            auth_type="oauth2",
            default_scopes=(
                "offline",
                "read:profile",
                "read:workout",
                "read:recovery",
                "read:sleep",
                "read:cycles",
                "read:body_measurement",
            ),
            data_types=("activities", "daily_summaries", "sleep", "recovery", "body_measurements"),
            webhooks=True,
            revocable=True,
            refreshes=True,
        ),
        ProviderSpec(
            key="fitbit",
            name="Fitbit",
            brand="fitbit",
            auth_type="oauth2_pkce",
            default_scopes=("activity", "heartrate", "profile", "sleep"),
            data_types=("activities", "daily_summaries", "sleep", "heart_rate"),
            webhooks=True,
            revocable=True,
            refreshes=True,
            notice="Google replaces the Fitbit Web API with the Google Health API (shutdown announced "
            "for September 2026): Fitbit links will have to move.",
        ),
        ProviderSpec(
            key="wahoo",
            name="Wahoo",
            brand="wahoo",
            auth_type="oauth2",
            # plans_* are asked now so that sending plans later needs no new consent; Relay does not
            # send any yet (no contract for it), hence exports_workouts=False.
            default_scopes=("user_read", "workouts_read", "plans_read", "plans_write", "offline_data"),
            data_types=("activities",),
            webhooks=True,
            revocable=True,
            refreshes=True,
        ),
        ProviderSpec(
            key="health_bridge",
            name="Apple Health / Google Fit",
            brand="health_bridge",
            # A bridge app on the phone (Health Auto Export, Health Connect Exports) posts to
            # POST /api/webhooks/ingest with the athlete's Relay API key in X-API-Key.
            auth_type="api_key",
            data_types=("activities", "daily_summaries", "sleep", "heart_rate", "hrv", "body_measurements"),
            webhooks=True,
            notice="Apple Health and Google Fit data stay on the phone: a bridge app sends them to Relay "
            "with your Relay API key, only while the phone is unlocked.",
        ),
    )
}


def spec_of(key: str) -> ProviderSpec:
    """The provider's spec; `KeyError` when Relay does not know it."""
    return PROVIDERS[key]
