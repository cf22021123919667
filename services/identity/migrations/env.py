"""Alembic environment of the identity service: its settings give the URL, its models the metadata."""

from sqlmodel import SQLModel

from identity import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from identity.config import Settings
from relay_platform.db import run_migrations

run_migrations(SQLModel.metadata, Settings().database_url.get_secret_value())
