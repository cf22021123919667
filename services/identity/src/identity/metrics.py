"""The identity service's own metrics, on the service's registry (`/metrics`). Refusals of requests
without a valid token are `relay_http_requests_total{status="401"}`, those over a rate limit
`relay_rate_limited_total`: both are the platform's."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from relay_platform.errors import AppError

LOGIN_OUTCOMES: dict[str, tuple[str, ...]] = {
    "strava": ("succeeded", "denied", "invalid", "failed"),
    "refresh": ("succeeded", "invalid", "reused", "failed"),
    "admin_password": ("succeeded", "wrong_credentials", "locked", "disabled", "failed"),
}
"""How each way of signing in can end. `strava`: the OAuth callback (`denied`: the athlete did not
authorize Relay; `invalid`: a state, PKCE verifier or code that is not the app's own; `failed`: Strava
or Relay failed). `refresh`: trading a refresh token (`reused`: a second use, which revokes the session).
`admin_password`: an operator's sign-in (`wrong_credentials` whether the email or the password is
wrong)."""


class LoginMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.logins = Counter(
            "relay_identity_logins_total",
            "Sign-ins and token refreshes, by method (strava, refresh, admin_password) and outcome.",
            ["method", "outcome"],
            registry=registry,
        )
        for method, outcomes in LOGIN_OUTCOMES.items():
            for outcome in outcomes:
                self.logins.labels(method=method, outcome=outcome)

    def record(self, method: str, outcome: str) -> None:
        self.logins.labels(method=method, outcome=outcome).inc()

    def refused(self, method: str, error: BaseException) -> None:
        """A sign-in that ended with `error`: a refusal of the request (4xx) or a failure (any other)."""
        if not isinstance(error, AppError) or error.status_code >= 500:
            outcome = "failed"
        elif error.code == "access_denied":
            outcome = "denied"
        else:
            outcome = "invalid"
        self.record(method, outcome)
