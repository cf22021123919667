"""Alembic environment of the audit service: its settings' database URL, its models the metadata."""

from sqlmodel import SQLModel

from audit import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from audit.config import Settings
from relay_platform.config import database_url_for_migrations
from relay_platform.db import run_migrations

run_migrations(SQLModel.metadata, database_url_for_migrations(Settings))
