"""A fake of the fitness providers Relay links athletes' accounts with, each speaking its documented
OAuth 2.0 dialect, on one server with each provider under its own prefix:

- `/garmin` (OAuth 2.0 with PKCE), `/coros` (OAuth 2.0; a refresh extends the same token), `/polar`
  (no refresh token; users registered once, 409 afterwards), `/oura` (and the application's webhook
  subscriptions), `/whoop`, `/fitbit` (PKCE, Basic client authentication) and `/wahoo`;
- `/coros-hub`: COROS Training Hub's unofficial email and password login, and its FIT imports;
- Garmin Connect's workout service under `/garmin/workout-service` (`api/workouts.py`).

Codes are single use, live 10 minutes and are bound to the redirect_uri (and the PKCE challenge);
rotating providers refuse a refresh token once used; access tokens work until they expire on the fake's
clock, are revoked or are replaced. Errors come in each provider's own shape.
`/_fake/...` is the test-control API behind `FakeProvidersClient`.
"""

from relay_testing.fakes.providers.control import (
    FAKE_CLIENT_ID,
    FAKE_CLIENT_SECRET,
    FakeProviders,
    FakeProvidersClient,
    serve_fake_providers,
)
from relay_testing.fakes.providers.control_protocol import ProvidersControl
from relay_testing.fakes.providers.coros_hub import CorosAccount, md5_hex
from relay_testing.fakes.providers.dialects import PROVIDERS, Provider, Target
from relay_testing.fakes.providers.oauth import s256
from relay_testing.fakes.providers.state import Failure, FailureMode, OuraSubscription, ReceivedRequest
from relay_testing.fakes.providers.users import ProviderUser
from relay_testing.fakes.providers.workouts import CorosImport, GarminStoredWorkout, UploadTarget

__all__ = [
    "FAKE_CLIENT_ID",
    "FAKE_CLIENT_SECRET",
    "PROVIDERS",
    "CorosAccount",
    "CorosImport",
    "Failure",
    "FailureMode",
    "FakeProviders",
    "FakeProvidersClient",
    "GarminStoredWorkout",
    "OuraSubscription",
    "Provider",
    "ProviderUser",
    "ProvidersControl",
    "ReceivedRequest",
    "Target",
    "UploadTarget",
    "md5_hex",
    "s256",
    "serve_fake_providers",
]
