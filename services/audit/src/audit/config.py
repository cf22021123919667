"""Settings of the audit service, read from `AUDIT_*` environment variables."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from relay_platform.config import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore")

    http_port: int = 8106
    consumer_max_poll_records: int = Field(
        default=500, ge=1, description="Events the trail appends per transaction (one insert of them all)."
    )
    retention_days: int = Field(
        default=730, ge=1, description="Entries recorded longer ago than this are pruned from the trail."
    )
    prune_cron: str = Field(default="15 3 * * *", description="When expired entries are pruned (cron, UTC).")
    verify_cron: str = Field(
        default="45 3 * * *", description="When the whole chain is verified (cron, UTC)."
    )
