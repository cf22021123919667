"""Alembic environment of the connections service: its settings' database URL, its models the metadata."""

from connections.config import Settings
from connections.models import metadata
from relay_platform.config import database_url_for_migrations
from relay_platform.db import run_migrations

run_migrations(metadata, database_url_for_migrations(Settings))
