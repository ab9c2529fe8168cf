"""Inserting messages so that ``timestamp`` is unique within a channel.

The spec pages history with a timestamp cursor (``before``), so two messages of one channel with
the same timestamp could be skipped at a page boundary. A unique constraint on (channel,
timestamp) and a retry one microsecond later make the cursor exact.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models.sql import InsertQuery
from django.utils import timezone

from chat.models import Channel, Message

_MAX_ATTEMPTS = 50
_insert_sql: dict[str, str] = {}  # database alias -> the compiled INSERT of one message


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
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
    message._state.adding = False
    message._state.db = alias


def insert_message(channel: Channel, **fields: Any) -> Message:
    """Create a message stamped now (or a microsecond later on a collision in its channel)."""
    moment = timezone.now()
    for _ in range(_MAX_ATTEMPTS):
        message = Message(channel=channel, timestamp=moment, **fields)
        try:
            with transaction.atomic():
                _insert(message)
            return message
        except IntegrityError:
            if not Message.objects.filter(channel=channel, timestamp=moment).exists():
                raise  # another constraint (e.g. a repeated nonce): the caller decides
            moment += timedelta(microseconds=1)
    raise IntegrityError("could not find a free timestamp for the message")
