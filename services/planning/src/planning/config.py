"""Settings of the planning service, read from `PLANNING_*` environment variables."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from relay_platform.config import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PLANNING_", extra="ignore")

    http_port: int = 8104
    review_cron: str = Field(
        default="*/5 * * * *",
        description="When the weekly review looks for programs due (each is due on Monday at 06:00 in the "
        "athlete's timezone): the longest a review can come after that time (cron, UTC).",
    )
