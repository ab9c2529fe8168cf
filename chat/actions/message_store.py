"""Writing and paging messages, the two statements of the hot paths.

The spec pages history with a timestamp cursor (``before``), so two messages of one channel with
the same timestamp could be skipped at a page boundary. A unique constraint on (channel,
timestamp) and a retry one microsecond later make the cursor exact.

Both statements are compiled once rather than by the ORM on every call (docs/performance.md):
the INSERT from the ORM's own compiler, the history page as written SQL on PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q, QuerySet
from django.db.models.sql import InsertQuery
from django.utils import timezone

from chat.models import Channel, Message
from chat.shapes.messages import MessageRow

_MAX_ATTEMPTS = 50
_insert_sql: dict[str, str] = {}  # database alias -> the compiled INSERT of one message


def _binding_cursor(connection: BaseDatabaseWrapper) -> Any:
    """A cursor whose parameters the database binds, where the backend has one
    (haven_site.postgresql); these statements are written for it."""
    binding = getattr(connection, "binding_cursor", None)
    return binding() if binding is not None else connection.cursor()


def _insert(message: Message) -> None:
    """``message.save(force_insert=True)``, with the INSERT compiled once per database: the ORM
    compiles it again on every save, which was a fifth of a send's CPU. Messages have no
    signals, database defaults or expressions, so the statement never changes; only the
    values do (prepared by each field, as save() prepares them)."""
    alias = router.db_for_write(Message)
    connection = connections[alias]
    fields = Message._meta.local_concrete_fields
    values = [f.get_db_prep_save(f.pre_save(message, True), connection) for f in fields]
    sql = _insert_sql.get(alias)
    if sql is None:
        query = InsertQuery(Message)
        query.insert_values(fields, [message])
        [(sql, params)] = query.get_compiler(connection=connection).as_sql()
        if len(params) != len(fields):  # not one placeholder per field: let the ORM do it
            message.save(force_insert=True)
            return
        _insert_sql[alias] = sql
    with _binding_cursor(connection) as cursor:
        cursor.execute(sql, values)
    message._state.adding = False
    message._state.db = alias


def insert_message(channel: Channel, **fields: Any) -> Message:
    """Create a message stamped now (or a microsecond later on a collision in its channel)."""
    moment = timezone.now()
    connection = connections[router.db_for_write(Message)]
    for _ in range(_MAX_ATTEMPTS):
        message = Message(channel=channel, timestamp=moment, **fields)
        try:
            if connection.in_atomic_block:
                # A savepoint: a collision must not break the caller's transaction.
                with transaction.atomic():
                    _insert(message)
            else:
                # One statement commits on its own: no BEGIN and COMMIT round trips around it
                # (a failed INSERT leaves nothing behind in autocommit either).
                _insert(message)
            return message
        except IntegrityError:
            if not Message.objects.filter(channel=channel, timestamp=moment).exists():
                raise  # another constraint (e.g. a repeated nonce): the caller decides
            moment += timedelta(microseconds=1)
    raise IntegrityError("could not find a free timestamp for the message")


def live_messages() -> QuerySet[Message]:
    """Messages whose ``expires_at`` has not passed: expired ones are invisible everywhere."""
    return Message.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))


def _page_sql(with_before: bool) -> str:
    """The history page of ``orm_page`` as PostgreSQL reads it, over the (channel, timestamp)
    index. Parameters: channel, now, [before,] limit."""
    meta = Message._meta
    column = {field.attname: field.column for field in meta.concrete_fields}
    columns = ", ".join(f'"{column[name]}"' for name in MessageRow._fields)
    before = ' AND "timestamp" < %s' if with_before else ""
    return (
        f'SELECT {columns} FROM "{meta.db_table}" WHERE "channel_id" = %s'  # noqa: S608 - names from the model
        f' AND ("expires_at" IS NULL OR "expires_at" > %s){before}'
        ' ORDER BY "timestamp" DESC LIMIT %s'
    )


_PAGE_SQL = {False: _page_sql(False), True: _page_sql(True)}


def orm_page(channel_id: uuid.UUID, before: datetime | None, limit: int) -> list[MessageRow]:
    page = live_messages().filter(channel_id=channel_id)
    if before is not None:
        page = page.filter(timestamp__lt=before)
    rows = page.order_by("-timestamp").values_list(*MessageRow._fields)[:limit]
    return [MessageRow(*row) for row in rows]


def sql_page(channel_id: uuid.UUID, before: datetime | None, limit: int) -> list[MessageRow]:
    """``orm_page`` without building and compiling its query each time: two thirds of a history
    page's CPU. PostgreSQL (through psycopg) returns the values the ORM would: UUIDs, bytes,
    aware datetimes; tests/chat/test_hot_path_queries.py holds the two to the same rows."""
    params: list[Any] = [channel_id, timezone.now()]
    if before is not None:
        params.append(before)
    params.append(limit)
    alias = router.db_for_read(Message)
    with _binding_cursor(connections[alias]) as cursor:
        cursor.execute(_PAGE_SQL[before is not None], params)
        return [MessageRow(*row) for row in cursor.fetchall()]


def read_page(channel_id: uuid.UUID, before: datetime | None, limit: int) -> list[MessageRow]:
    """A channel's live messages, newest first, ``before`` exclusive, at most ``limit``."""
    vendor = connections[router.db_for_read(Message)].vendor
    reader: Callable[..., list[MessageRow]] = sql_page if vendor == "postgresql" else orm_page
    return reader(channel_id, before, limit)
