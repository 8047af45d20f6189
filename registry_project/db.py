"""Fast reads for what every client request asks: a row by equality, or one value.

The ORM compiles each ``filter().first()`` anew, which on a cached-document request costs more
than the query itself. ``row_get`` keeps the statement and the column converters per model
and lookup, so a hot read is one cursor call plus ``Model.from_db``.
"""

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from django.db import connections, models, router

ModelT = TypeVar("ModelT", bound=models.Model)


@cache
def _plan(
    model: type[models.Model], lookups: tuple[str, ...], alias: str
) -> tuple[str, list[str], list[tuple[models.Field, Any, list[Callable]]]]:
    connection = connections[alias]
    quote = connection.ops.quote_name
    fields = list(model._meta.concrete_fields)
    columns = ", ".join(quote(field.column) for field in fields)
    where = " AND ".join(f"{quote(model._meta.get_field(name).column)} = %s" for name in lookups)
    statement = f"SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {where}"
    converters = []
    for field in fields:
        column = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        converters.append((field, column, found))
    return statement, [field.attname for field in fields], converters


def row_get(model: type[ModelT], **equals: object) -> ModelT | None:
    """Return the one ``model`` row whose fields equal ``equals`` (unique lookups), or None."""
    alias = router.db_for_read(model)
    connection = connections[alias]
    statement, attnames, converters = _plan(model, tuple(equals), alias)
    with connection.cursor() as cursor:
        cursor.execute(statement, list(equals.values()))
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for value, (_, column, functions) in zip(row, converters, strict=True):
        for function in functions:
            value = function(value, column, connection)
        values.append(value)
    return model.from_db(alias, attnames, values)


def value_get(statement: str, params: list[object]) -> Any:
    """Run a fixed ``SELECT`` and return the first column of its first row (None if no row)."""
    with connections["default"].cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    return row[0] if row else None


def quoted(model: type[models.Model], field: str = "") -> str:
    """Return the quoted table of ``model``, or the quoted column of its ``field``."""
    quote = connections["default"].ops.quote_name
    return quote(model._meta.get_field(field).column if field else model._meta.db_table)
