"""Single-statement writes the ORM cannot express: insert a row unless its id is taken, and upsert
a row unless a newer source already wrote it; on PostgreSQL, both together with other rows in one
statement (:func:`insert_with`).

The two are ``INSERT … ON CONFLICT (pk) …``, which PostgreSQL and SQLite (3.24+) accept word for
word; those are the databases the apps support. The statements are built from the model's meta once
per model and set of columns.
"""
from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from django.db import DEFAULT_DB_ALIAS, NotSupportedError, connection, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

SUPPORTED_VENDORS = ("postgresql", "sqlite")


@dataclass(frozen=True)
class Upsert:
    """A row to insert, or to update with ``values`` (by attname) unless its ``stamp`` is newer than ``when``."""

    model: type[models.Model]
    pk: str
    values: dict[str, Any]
    when: datetime
    stamp: str = "source_updated_at"

    def row(self) -> models.Model:
        return self.model(**{**self.values, self.model._meta.pk.attname: self.pk, self.stamp: self.when})

    def shape(self) -> tuple[type[models.Model], tuple[str, ...], str]:
        """What its statement depends on: the same shape is the same SQL."""
        return self.model, tuple(sorted(self.values)), self.stamp


def _check_vendor() -> None:
    if connection.vendor not in SUPPORTED_VENDORS:
        raise NotSupportedError(f"billing_events needs PostgreSQL or SQLite, not {connection.vendor}")


def _columns(fields: Sequence[models.Field]) -> str:
    return ", ".join(connection.ops.quote_name(field.column) for field in fields)


def _insert_head(model: type[models.Model]) -> str:
    fields = model._meta.concrete_fields
    return (f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({_columns(fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) ")


def _on_conflict(model: type[models.Model]) -> str:
    return f"ON CONFLICT ({connection.ops.quote_name(model._meta.pk.column)}) "


def _do_update_if_newer(model: type[models.Model], updated: tuple[str, ...], stamp: str) -> str:
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    by_attname = {field.attname: field for field in model._meta.concrete_fields}
    columns = [quote(by_attname[name].column) for name in (*updated, stamp)]
    stamp_column = columns[-1]
    return (f"DO UPDATE SET {', '.join(f'{column} = EXCLUDED.{column}' for column in columns)} "
            f"WHERE {table}.{stamp_column} IS NULL OR {table}.{stamp_column} <= EXCLUDED.{stamp_column}")


# The statements are cached by vendor too: quoting is the connection's business.
@lru_cache(maxsize=None)
def _insert_or_ignore_sql(vendor: str, model: type[models.Model]) -> str:
    return _insert_head(model) + _on_conflict(model) + "DO NOTHING"


@lru_cache(maxsize=None)
def _upsert_sql(vendor: str, model: type[models.Model], updated: tuple[str, ...], stamp: str) -> str:
    return _insert_head(model) + _on_conflict(model) + _do_update_if_newer(model, updated, stamp)


@lru_cache(maxsize=None)
def _inserted_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    """The columns an insert writes: all but those the database fills in (an auto-increment id)."""
    return tuple(field for field in model._meta.concrete_fields if not field.db_returning)


def _cast_type(field: models.Field) -> str:
    # Without its length or precision: CAST(… AS varchar(255)) would cut a longer value short,
    # where the insert itself refuses it, as a plain VALUES insert does.
    return re.sub(r"\(.*?\)", "", field.db_type(connection)).strip()


def _insert_if_event_sql(model: type[models.Model]) -> str:
    """``INSERT … SELECT`` of one row that writes nothing unless ``inserted_event`` holds a row.

    The values are cast to their columns' types: a SELECT list, unlike VALUES, does not take them
    from the target columns (a NULL would be text, and text is not assignable to jsonb or date).
    """
    fields = _inserted_fields(model)
    values = ", ".join(f"CAST(%s AS {_cast_type(field)})" for field in fields)
    return (f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({_columns(fields)}) "
            f"SELECT {values} WHERE EXISTS (SELECT 1 FROM inserted_event) ")


@lru_cache(maxsize=None)
def _insert_with_sql(vendor: str, model: type[models.Model],
                     upserts: tuple[tuple[type[models.Model], tuple[str, ...], str], ...],
                     rows: tuple[type[models.Model], ...]) -> str:
    parts = [f"inserted_event AS ({_insert_or_ignore_sql(vendor, model)} RETURNING 1)"]
    parts += [f"upsert_{index} AS ({_insert_if_event_sql(upsert_model)}{_on_conflict(upsert_model)}"
              f"{_do_update_if_newer(upsert_model, updated, stamp)})"
              for index, (upsert_model, updated, stamp) in enumerate(upserts)]
    parts += [f"row_{index} AS ({_insert_if_event_sql(row_model)})" for index, row_model in enumerate(rows)]
    return f"WITH {', '.join(parts)} SELECT count(*) FROM inserted_event"


def _params(instance: models.Model, fields: Sequence[models.Field] | None = None,
            db: BaseDatabaseWrapper | None = None) -> list[Any]:
    """Each column's database value (every concrete column by default), as ``save()`` would write it
    on an insert."""
    db = db or connections[DEFAULT_DB_ALIAS]  # the connection itself, not its per-attribute proxy
    return [field.get_db_prep_save(field.pre_save(instance, add=True), db)
            for field in (instance._meta.concrete_fields if fields is None else fields)]


def _inserted(instance: models.Model) -> None:
    instance._state.adding = False  # as after save(): a later save() updates this row
    instance._state.db = connection.alias


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
        _inserted(instance)
    return inserted


def upsert_if_newer(upsert: Upsert) -> None:
    """Insert the row, or update its values unless its stamp is newer (see :class:`Upsert`).

    One statement, so two transactions writing the same new row at once cannot collide on its
    primary key: the database settles who inserts, and the other one's update waits for that
    row. Django's ``bulk_create(update_conflicts=True)`` writes the same statement without the
    ``WHERE`` (the "newer wins" guard), hence this SQL.
    """
    _check_vendor()
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(connection.vendor, *upsert.shape()), _params(upsert.row()))


def insert_with(instance: models.Model, upserts: Sequence[Upsert], rows: Sequence[models.Model]) -> bool:
    """Insert ``instance`` unless its primary key is taken (as :func:`insert_or_ignore`) and, only if
    it was inserted, apply ``upserts`` and insert ``rows``: all or nothing; whether it was inserted.

    On PostgreSQL this is one statement, the upserts and rows being data-modifying CTEs that only
    write when the first one inserted, prepared once per session. Outside a transaction it needs no
    BEGIN and no COMMIT of its own (a statement is atomic by itself), so it costs one round trip and
    one commit, like a bare insert. SQLite has no data-modifying CTEs: there it is one statement
    each, in one transaction.
    """
    _check_vendor()
    if connection.vendor != "postgresql":
        with transaction.atomic():
            inserted = insert_or_ignore(instance)
            if inserted:
                for upsert in upserts:
                    upsert_if_newer(upsert)
                for row in rows:
                    row.save(force_insert=True, using=connection.alias)
        return inserted
    model = type(instance)
    sql = _insert_with_sql(connection.vendor, model, tuple(upsert.shape() for upsert in upserts),
                           tuple(type(row) for row in rows))
    db = connections[DEFAULT_DB_ALIAS]
    params = _params(instance, db=db)
    for upsert in upserts:
        params += _params(upsert.row(), _inserted_fields(upsert.model), db)
    for row in rows:
        params += _params(row, _inserted_fields(type(row)), db)
    # Within the caller's transaction, a savepoint: a failing statement leaves that transaction usable.
    with transaction.atomic() if db.in_atomic_block else nullcontext(), db.cursor() as cursor:
        _execute_prepared(db, cursor, sql, params)
        inserted = cursor.fetchone()[0] == 1
    if inserted:
        _inserted(instance)
    return inserted


#: At most this many rows a statement (:func:`insert_rows`): one prepared statement per row count.
ROWS_PER_INSERT = 50


@lru_cache(maxsize=None)
def _insert_rows_sql(vendor: str, model: type[models.Model], count: int) -> str:
    fields = _inserted_fields(model)
    row = f"({', '.join(['%s'] * len(fields))})"
    return (f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({_columns(fields)}) "
            f"VALUES {', '.join([row] * count)}")


def insert_rows(rows: Sequence[models.Model]) -> None:
    """Insert new rows of one model, in their order, with one statement (per ``ROWS_PER_INSERT``),
    prepared on PostgreSQL: what ``bulk_create`` does for the hot paths' rows, without building and
    compiling a query each time. Their primary keys are not read back."""
    if not rows:
        return
    _check_vendor()
    model = type(rows[0])
    fields = _inserted_fields(model)
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        for start in range(0, len(rows), ROWS_PER_INSERT):
            chunk = rows[start:start + ROWS_PER_INSERT]
            params = [value for row in chunk for value in _params(row, fields, db)]
            sql = _insert_rows_sql(db.vendor, model, len(chunk))
            if db.vendor == "postgresql":
                _execute_prepared(db, cursor, sql, params)
            else:
                cursor.execute(sql, params)
    for row in rows:
        _inserted(row)


# The statements this module has prepared on each database session (a psycopg connection); each
# thread has its own, but the mapping is shared.
_prepared: WeakKeyDictionary[Any, set[str]] = WeakKeyDictionary()
_prepared_lock = threading.Lock()


#: The SQL of each statement this module prepares, by its name (see ``prepared_text``).
_statements: dict[str, str] = {}


def prepared_text(sql: str) -> str:
    """``sql`` itself, or for an ``EXECUTE`` of a statement this module prepared, that statement's
    SQL (what a statement log shows is the name: this says what it ran)."""
    if sql.startswith("EXECUTE billing_events_"):
        return _statements.get(sql.split()[1].split("(")[0], sql)
    return sql


@lru_cache(maxsize=None)
def _prepared_forms(sql: str, params: int) -> tuple[str, str, str]:
    """``sql`` as a named prepared statement: its name, its PREPARE and its EXECUTE (``%s`` each)."""
    name = f"billing_events_{hashlib.blake2b(sql.encode(), digest_size=10).hexdigest()}"
    _statements[name] = sql
    pieces = sql.split("%s")
    numbered = pieces[0] + "".join(f"${index}{piece}" for index, piece in enumerate(pieces[1:], start=1))
    return name, f"PREPARE {name} AS {numbered}", f"EXECUTE {name}({', '.join(['%s'] * params)})"


def _execute_prepared(db: BaseDatabaseWrapper, cursor: Any, sql: str, params: Sequence[Any]) -> None:
    """Execute ``sql``, which PostgreSQL parses and plans once per session instead of on every call.

    Not where Django is told a transaction-pooling proxy stands between it and the server
    (``DISABLE_SERVER_SIDE_CURSORS``, as Django's documentation asks for PgBouncer): such a proxy
    may hand the next statement to a server session that never saw the prepared one. A prepared
    statement outlives a rollback, so one prepared in a transaction that rolls back stays usable.
    """
    if db.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        cursor.execute(sql, params)
        return
    name, prepare, execute = _prepared_forms(sql, len(params))
    with _prepared_lock:
        session = _prepared.setdefault(db.connection, set())
    if name not in session:
        cursor.execute(prepare)
        session.add(name)
    cursor.execute(execute, params)
