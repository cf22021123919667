"""Alembic environment of the export service: its settings' database URL, its models the metadata."""

from export.config import Settings
from export.models import metadata
from relay_platform.config import database_url_for_migrations
from relay_platform.db import run_migrations

run_migrations(metadata, database_url_for_migrations(Settings))
