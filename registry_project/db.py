"""Fast reads for what every client request asks: a row by equality, or one value.

The ORM compiles each ``filter().first()`` anew, which on a cached-document request costs more
than the query itself. ``row_get`` keeps the statement and the column converters per model
and lookup, so a hot read is one cursor call plus ``Model.from_db``. The cursor is the
driver's own: Django's wrapper rewrites and re-validates the statement on every call, a seventh
of a cached-document read. Where queries are being logged (DEBUG, the tests' query counts) the
wrapper is used, so they are still seen.

The driver's cursor skips Django's per-request health check (``CONN_HEALTH_CHECKS``), so a
connection the database server dropped (a restart, a failover, an idle timeout) is found
broken here: the error is wrapped as Django's, the connection closed and the read retried
once on a fresh one. A read that fails again raises DatabaseUnavailable (503, Retry-After),
which every protocol renders in its own envelope.
"""

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import InterfaceError, OperationalError, connections, models, router
from django.db.models.fields import Field
from django.db.models.fields.reverse_related import ForeignObjectRel

from registry_project.errors import DatabaseUnavailable

ModelT = TypeVar("ModelT", bound=models.Model)


@cache
def _converters(
    model: type[models.Model], alias: str
) -> tuple[list[str], list[tuple[Any, list[Callable]]]]:
    connection = connections[alias]
    converters = []
    for field in model._meta.concrete_fields:
        column = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        converters.append((column, found))
    return [field.attname for field in model._meta.concrete_fields], converters


def select_columns(model: type[models.Model], *, prefix: str = "") -> str:
    """Return the quoted concrete columns of ``model`` (``prefix.`` before each) for a SELECT."""
    quote = connections["default"].ops.quote_name
    return ", ".join(f"{prefix}{quote(_column(field))}" for field in model._meta.concrete_fields)


def _column(field: Field | ForeignObjectRel) -> str:
    """Return the column of a concrete field (a reverse relation has none: a caller's bug)."""
    column = getattr(field, "column", None)
    if not isinstance(column, str):
        raise ImproperlyConfigured(f"{field} is not a concrete field")
    return column


def model_from_row(model: type[ModelT], row: Sequence[object], *, alias: str = "default") -> ModelT:
    """Build a ``model`` instance from a row of ``select_columns(model)``, converting values as
    the ORM would (SQLite returns JSON and datetimes as text)."""
    connection = connections[alias]
    attnames, converters = _converters(model, alias)
    values = []
    for value, (column, functions) in zip(row, converters, strict=True):
        for function in functions:
            value = function(value, column, connection)
        values.append(value)
    return model.from_db(alias, attnames, values)


@cache
def _statement(model: type[models.Model], lookups: tuple[str, ...]) -> str:
    quote = connections["default"].ops.quote_name
    where = " AND ".join(f"{quote(_column(model._meta.get_field(name)))} = %s" for name in lookups)
    return f"SELECT {select_columns(model)} FROM {quote(model._meta.db_table)} WHERE {where}"


@cache
def _native(statement: str, vendor: str) -> str:
    # The statements are written with Django's %s placeholders; sqlite3 takes ?.
    return statement.replace("%s", "?") if vendor == "sqlite" else statement


def _execute(alias: str, statement: str, params: Sequence[Any], *, many: bool) -> Any:
    connection = connections[alias]
    if connection.queries_logged:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if many else cursor.fetchone()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = connection.connection.cursor()
        try:
            cursor.execute(_native(statement, connection.vendor), params)
            return cursor.fetchall() if many else cursor.fetchone()
        finally:
            cursor.close()


def _fetch(alias: str, statement: str, params: Sequence[object], *, many: bool) -> Any:
    try:
        return _execute(alias, statement, params, many=many)
    except (OperationalError, InterfaceError) as error:
        connection = connections[alias]
        if connection.in_atomic_block:
            raise DatabaseUnavailable() from error  # a transaction cannot move connections
        connection.close()
    try:
        return _execute(alias, statement, params, many=many)
    except (OperationalError, InterfaceError) as error:
        raise DatabaseUnavailable() from error


def row_get(model: type[ModelT], **equals: object) -> ModelT | None:
    """Return the one ``model`` row whose fields equal ``equals`` (unique lookups), or None."""
    alias = router.db_for_read(model)
    row = _fetch(alias, _statement(model, tuple(equals)), list(equals.values()), many=False)
    return None if row is None else model_from_row(model, row, alias=alias)


def rows_list(model: type[ModelT], statement: str, params: Sequence[object]) -> list[ModelT]:
    """Run a fixed ``SELECT`` of ``select_columns(model)``; return its rows as instances."""
    alias = router.db_for_read(model)
    rows = _fetch(alias, statement, params, many=True)
    return [model_from_row(model, row, alias=alias) for row in rows]


def row_fetch(statement: str, params: Sequence[object]) -> tuple | None:
    """Run a fixed ``SELECT`` and return its first row (None if no row)."""
    return _fetch("default", statement, params, many=False)


def value_get(statement: str, params: list[object]) -> Any:
    """Run a fixed ``SELECT`` and return the first column of its first row (None if no row)."""
    row = row_fetch(statement, params)
    return row[0] if row else None


def values_list(statement: str, params: list[object]) -> list[tuple[Any, ...]]:
    """Run a fixed ``SELECT`` and return all its rows as tuples of plain values."""
    return [tuple(row) for row in _fetch("default", statement, params, many=True)]


def placeholders(count: int) -> str:
    """Return ``count`` comma-separated parameter placeholders, for ``IN (...)``."""
    return ", ".join(["%s"] * count)


def quoted(model: type[models.Model], field: str = "") -> str:
    """Return the quoted table of ``model``, or the quoted column of its ``field``."""
    quote = connections["default"].ops.quote_name
    return quote(_column(model._meta.get_field(field)) if field else model._meta.db_table)
