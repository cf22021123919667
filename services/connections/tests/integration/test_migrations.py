"""The migrations build exactly the schema the models describe."""

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from connections.models import metadata

from .conftest import ConnectionsUnderTest

pytestmark = pytest.mark.integration


async def test_the_migrated_database_has_the_schema_of_the_models(
    connections_service: ConnectionsUnderTest,
) -> None:
    async with connections_service.sessionmaker() as session:
        connection = await session.connection()
        differences: list[Any] = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
    assert differences == []
