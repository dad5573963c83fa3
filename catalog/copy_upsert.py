"""``INSERT … ON CONFLICT DO UPDATE`` of many model instances, through ``COPY`` on PostgreSQL.

``bulk_create(update_conflicts=True)`` prepares every value of every row in Python (field
by field, then psycopg dumps them as ``UNNEST`` arrays): at an initial import of a million
variants that was ~40% of our CPU. ``COPY … FROM STDIN`` with psycopg's C row writer into
a temporary table, then one ``INSERT … SELECT … ON CONFLICT`` per call, writes the same
rows with the same conflict semantics for a fraction of that. Other databases (SQLite for
the demo and the tests) keep ``bulk_create``.

Unlike ``bulk_create`` the instances do not get their primary keys back; callers that need
them read them by their unique key. The COPY goes through the connection's execute wrappers
(query counters see it); Django's ``connection.queries`` log does not list it.

:class:`InstanceBuilder` makes the unsaved instances such a write takes, without the cost of
``Model.__init__`` per row.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Iterable, Sequence

from django.db import connections, models, router, transaction
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

from galantis.chunks import in_chunks
from galantis.jsonb import jsonb_text

# Rows per INSERT ... ON CONFLICT statement where bulk_create is used.
BULK_CREATE_BATCH = 500


class InstanceBuilder:
    """Unsaved instances of ``model`` for bulk writes: ``builder(**values)`` ~ ``model(**values)``.

    ``Model.__init__`` takes each keyword through the field machinery and sends
    ``pre_init`` / ``post_init``: ~20 µs a row, a tenth of our CPU at an initial import of a
    million variants. Here the static defaults are computed once (callable ones, such as
    ``dict`` for a JSONField, per instance) and the attributes set directly (~1 µs).
    ``values`` are keyed by attname (``product_id``, not ``product``); an unknown name is a
    ``TypeError`` as with the constructor. A model with init-signal receivers gets its real
    constructor, so nothing that listens is skipped.
    """

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        fields = model._meta.concrete_fields
        self.attnames = frozenset(f.attname for f in fields)
        dynamic = [f for f in fields if f.has_default() and callable(f.default)]
        # (attname, default factory): the factory called directly, not through Field.get_default.
        self.dynamic = [(f.attname, f.default) for f in dynamic]
        self.static = {f.attname: f.get_default() for f in fields if f not in dynamic}
        self.plain = not (pre_init.has_listeners(model) or post_init.has_listeners(model))

    @classmethod
    @functools.cache
    def for_model(cls, model: type[models.Model]) -> InstanceBuilder:
        """One builder per model (made at first use, when every receiver is connected)."""
        return cls(model)

    def __call__(self, **values) -> models.Model:
        if not self.plain:
            return self.model(**values)
        if not self.attnames.issuperset(values):
            unknown = values.keys() - self.attnames
            raise TypeError(f"{self.model.__name__} has no field(s) {', '.join(sorted(unknown))}")
        obj = self.model.__new__(self.model)
        attributes = obj.__dict__
        attributes.update(self.static)
        for attname, default in self.dynamic:
            if attname not in values:
                attributes[attname] = default()
        attributes.update(values)
        obj._state = ModelState()
        return obj


def upsert_instances(
    model: type[models.Model],
    objs: Sequence[models.Model],
    *,
    unique_fields: Sequence[str],
    update_fields: Sequence[str],
) -> None:
    """Insert ``objs``; on a conflict on ``unique_fields`` overwrite ``update_fields``.

    Same contract as ``model.objects.bulk_create(objs, update_conflicts=True, …)``:
    ``auto_now`` / ``auto_now_add`` fields are set as a save would set them, and ``objs``
    must not repeat a unique key.
    """
    if not objs:
        return
    using = router.db_for_write(model)
    connection = connections[using]
    if connection.vendor != "postgresql":
        model.objects.using(using).bulk_create(
            objs,
            batch_size=BULK_CREATE_BATCH,
            update_conflicts=True,
            unique_fields=unique_fields,
            update_fields=update_fields,
        )
        return
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    auto_fields = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    attnames = [f.attname for f in fields]
    row_of = operator.attrgetter(*attnames) if len(attnames) > 1 else lambda obj: (getattr(obj, attnames[0]),)
    # JSON as text (COPY's text format; the temp table's column is jsonb): no per-value
    # adapter object and json.dumps, unless the field has an encoder of its own.
    json_columns = [(position, field) for position, field in enumerate(fields) if isinstance(field, models.JSONField)]

    qn = connection.ops.quote_name
    table = qn(opts.db_table)
    temp = qn(f"copy_upsert_{opts.db_table}")
    columns = ", ".join(qn(f.column) for f in fields)
    conflict = ", ".join(qn(opts.get_field(name).column) for name in unique_fields)
    updates = ", ".join(
        f"{qn(column)} = EXCLUDED.{qn(column)}" for column in (opts.get_field(name).column for name in update_fields)
    )

    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        # Column types without constraints or defaults: COPY sends every column.
        cursor.execute(f"CREATE TEMP TABLE {temp} ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA")

        def copy_rows(sql, params, *ignored_wrapper_args):
            # auto_now / auto_now_add: one reading of the clock for the call, as a save would set it.
            for field in auto_fields:
                stamp = field.pre_save(objs[0], add=True)
                for obj in objs:
                    setattr(obj, field.attname, stamp)
            with cursor.cursor.copy(sql) as copy:
                for obj in objs:
                    # TextChoices/IntegerChoices are str/int subclasses: psycopg dumps their value.
                    row = row_of(obj)
                    if json_columns:
                        row = list(row)
                        for position, field in json_columns:
                            if row[position] is not None:
                                row[position] = jsonb_text(row[position], field.encoder)
                    copy.write_row(row)

        _run_wrapped(connection, cursor, copy_rows, f"COPY {temp} ({columns}) FROM STDIN")
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {temp} "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
        )
        cursor.execute(f"DROP TABLE {temp}")


def _run_wrapped(connection, cursor, copy_rows, sql: str) -> None:
    """Run ``copy_rows(sql, ...)`` through the connection's execute wrappers.

    COPY has no Django cursor method; going through the wrappers anyway lets query counters
    and instrumentation see it like any other statement.
    """
    executor = copy_rows
    for wrapper in reversed(connection.execute_wrappers):
        executor = functools.partial(wrapper, executor)
    executor(sql, None, False, {"connection": connection, "cursor": cursor})


def insert_rows(model: type[models.Model], attnames: Sequence[str], rows: Iterable[Sequence]) -> int:
    """INSERT value tuples (in ``attnames`` order) as new rows of ``model``; return how many.

    On PostgreSQL one ``COPY … FROM STDIN`` straight into the table: no model instance and
    no per-value preparation (the webhook drain writes two timeline events per changed
    variant, and ``bulk_create`` of them cost a sixth of its time). Elsewhere
    ``bulk_create`` in chunks. Columns left out get NULL or their database default, not a
    Django default: name every column that needs a value.
    """
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0  # no statement for nothing
    rows = itertools.chain((first,), rows)
    using = router.db_for_write(model)
    connection = connections[using]
    if connection.vendor != "postgresql":
        written = 0
        for chunk in in_chunks(rows, BULK_CREATE_BATCH):
            model.objects.using(using).bulk_create([model(**dict(zip(attnames, row, strict=True))) for row in chunk])
            written += len(chunk)
        return written
    opts = model._meta
    fields = [opts.get_field(name) for name in attnames]
    json_positions = [
        (position, field.encoder) for position, field in enumerate(fields) if isinstance(field, models.JSONField)
    ]
    qn = connection.ops.quote_name
    columns = ", ".join(qn(field.column) for field in fields)
    written = 0
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:

        def copy_rows(sql, params, *ignored_wrapper_args):
            nonlocal written
            with cursor.cursor.copy(sql) as copy:
                for row in rows:
                    if json_positions:
                        row = list(row)
                        for position, encoder in json_positions:
                            if row[position] is not None:
                                row[position] = jsonb_text(row[position], encoder)
                    copy.write_row(row)
                    written += 1

        _run_wrapped(connection, cursor, copy_rows, f"COPY {qn(opts.db_table)} ({columns}) FROM STDIN")
    return written
