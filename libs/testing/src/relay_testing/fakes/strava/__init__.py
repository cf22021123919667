"""A fake of Strava's OAuth 2.0 endpoints, speaking their documented contract, for the tests of
"Sign in with Strava" (identity) and of the Strava connection (connections).

- `GET /oauth/authorize?client_id&redirect_uri&response_type=code&approval_prompt&scope&state`: approves
  at once (or refuses, as queued) and redirects to `redirect_uri?state&code&scope` (or `state&error`).
  Strava has no PKCE: PKCE parameters are ignored. Codes are single-use and live 10 minutes.
- `POST /oauth/token` (form, multipart or JSON): `grant_type=authorization_code` or `refresh_token`.
  A refresh always replaces the refresh token (the old one stops working); the access token is new
  only when the current one expires within the hour, as Strava documents.
- `POST /oauth/deauthorize` and `GET /api/v3/athlete` with the athlete's access token. Once the
  application is deauthorized (or the athlete removed it: `revoke_grant`), their access tokens answer
  401 and their refresh token is refused, as Strava does.
- `GET /api/v3/athlete/activities?before&after&page&per_page` (SummaryActivities) and
  `GET /api/v3/activities/{id}` (a DetailedActivity) with a token granting `activity:read` (private
  activities only with `activity:read_all`), serving what tests stored (`put_activity`, `add_history`).
  `strava_activity` and `strava_history` build realistic payloads for tests and benchmarks.
- Strava's error bodies, rate-limit headers on every answer and 429 beyond the application's limits
  (which tests may change, and whose count they may reset, while the fake runs).
- Failures tests inject: for the next calls to an endpoint (or to refresh grants only), or for every
  call during a while.
- `/_fake/...`: the test-control API behind `FakeStravaClient`.
"""

from relay_testing.fakes.strava.activities import strava_activity, strava_history, summary_of
from relay_testing.fakes.strava.control import FakeStrava, FakeStravaClient, StravaControl, serve_fake_strava
from relay_testing.fakes.strava.state import (
    Failure,
    FailureMode,
    GrantView,
    RateLimits,
    ReceivedRequest,
    StravaAthlete,
)

__all__ = [
    "Failure",
    "FailureMode",
    "FakeStrava",
    "FakeStravaClient",
    "GrantView",
    "RateLimits",
    "ReceivedRequest",
    "StravaAthlete",
    "StravaControl",
    "serve_fake_strava",
    "strava_activity",
    "strava_history",
    "summary_of",
]
