"""Every provider Relay reads activities from, by name."""

from __future__ import annotations

from collections.abc import Mapping

from ingestion.providers import coros, fitbit, garmin, health_bridge, oura, polar, strava, wahoo, whoop
from ingestion.providers.base import ProviderApi

PROVIDER_APIS: Mapping[str, ProviderApi] = {
    module.API.provider: module.API
    for module in (strava, garmin, coros, polar, oura, whoop, fitbit, wahoo, health_bridge)
}
