"""Which limit class a path falls in; the limits themselves are tested on the real Redis in
tests/integration/test_rate_limits.py."""

import pytest

from relay_platform.ratelimit import limit_class


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/api/auth/strava", "auth"),
        ("/api/auth/strava/callback", "auth"),
        ("/api/auth/refresh", "auth"),
        ("/api/admin/auth/login", "auth"),
        ("/api/webhook/strava", "webhook"),
        ("/api/webhooks/garmin", "webhook"),
        ("/api/admin", "admin"),
        ("/api/admin/athletes/42", "admin"),
        ("/api/administrators", "api"),
        ("/api/auth/sessions", "api"),
        ("/api/activities", "api"),
        ("/api", None),
        ("/healthz", None),
        ("/readyz", None),
        ("/metrics", None),
        ("/docs", None),
        ("/openapi.json", None),
    ],
)
def test_each_path_falls_in_the_documented_limit_class(path: str, limit: str | None) -> None:
    assert limit_class(path) == limit
