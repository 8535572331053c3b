"""Single-statement writes the ORM cannot express: insert a row unless its id is taken, and upsert
a row unless a newer source already wrote it.

Both are ``INSERT … ON CONFLICT (pk) …``, which PostgreSQL and SQLite (3.24+) accept word for word;
those are the databases the apps support. The statements are built from the model's meta once per
model and set of columns.
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import NotSupportedError, connection, models

SUPPORTED_VENDORS = ("postgresql", "sqlite")


def _check_vendor() -> None:
    if connection.vendor not in SUPPORTED_VENDORS:
        raise NotSupportedError(f"billing_events needs PostgreSQL or SQLite, not {connection.vendor}")


def _insert_head(model: type[models.Model]) -> str:
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    return (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT ({quote(model._meta.pk.column)}) ")


# The statements are cached by vendor too: quoting is the connection's business.
@lru_cache(maxsize=None)
def _insert_or_ignore_sql(vendor: str, model: type[models.Model]) -> str:
    return _insert_head(model) + "DO NOTHING"


@lru_cache(maxsize=None)
def _upsert_sql(vendor: str, model: type[models.Model], updated: tuple[str, ...], stamp: str) -> str:
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    by_attname = {field.attname: field for field in model._meta.concrete_fields}
    columns = [quote(by_attname[name].column) for name in (*updated, stamp)]
    stamp_column = columns[-1]
    return (_insert_head(model)
            + f"DO UPDATE SET {', '.join(f'{column} = EXCLUDED.{column}' for column in columns)} "
            f"WHERE {table}.{stamp_column} IS NULL OR {table}.{stamp_column} <= EXCLUDED.{stamp_column}")


def _params(instance: models.Model) -> list[Any]:
    """Every concrete column's database value, as ``save()`` would write it on an insert."""
    return [field.get_db_prep_save(field.pre_save(instance, add=True), connection)
            for field in instance._meta.concrete_fields]


def insert_or_ignore(instance: models.Model) -> bool:
    """Insert ``instance`` unless a row with its primary key exists; whether it was inserted.

    When another transaction is inserting the same key, the database makes this statement wait
    for it and then skip the row (PostgreSQL) or holds the whole write lock (SQLite), so at most
    one of any number of concurrent callers gets True, and none gets an error.
    """
    _check_vendor()
    with connection.cursor() as cursor:
        cursor.execute(_insert_or_ignore_sql(connection.vendor, type(instance)), _params(instance))
        inserted = cursor.rowcount == 1
    if inserted:
        instance._state.adding = False  # as after save(): a later save() updates this row
        instance._state.db = connection.alias
    return inserted


def upsert_if_newer(model: type[models.Model], pk: str, values: dict[str, Any], when: datetime,
                    stamp: str = "source_updated_at") -> None:
    """Insert the row, or update ``values`` (by attname) on it unless its ``stamp`` is newer than ``when``.

    One statement, so two transactions writing the same new row at once cannot collide on its
    primary key: the database settles who inserts, and the other one's update waits for that
    row. Django's ``bulk_create(update_conflicts=True)`` writes the same statement without the
    ``WHERE`` (the "newer wins" guard), hence this SQL.
    """
    _check_vendor()
    row = model(**{**values, model._meta.pk.attname: pk, stamp: when})
    sql = _upsert_sql(connection.vendor, model, tuple(sorted(values)), stamp)
    with connection.cursor() as cursor:
        cursor.execute(sql, _params(row))
