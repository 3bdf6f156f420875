"""Running queries.py's SQL on a psycopg cursor."""

from typing import Any

from psycopg import AsyncCursor

from heap_destination.store import queries


async def execute(cursor: AsyncCursor[Any], query: queries.Query) -> AsyncCursor[Any]:
    sql, parameters = query
    return await cursor.execute(queries.postgres_sql(sql).encode(), parameters)


async def one(cursor: AsyncCursor[Any]) -> Any:
    row = await cursor.fetchone()
    if row is None:
        raise RuntimeError("the database returned no row where one was expected")
    return row
