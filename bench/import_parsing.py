"""Where the import's parsing could run, measured: ``python -m bench.import_parsing FILE.jsonl [--repeat R]``.

Issue 21 asks whether parsing Shopify's bulk JSONL in a second process or in the database
would lift the import towards 10,000 variants/s. Both move work off our process, and
both leave some behind; this measures, per variant of the file, the CPU our process
spends in each case (``time.process_time``, the least of three passes):

- ``in_process``: what the importer does today, ``orjson.loads`` per line, then
  ``group_products`` (records with their variants, media and metafields);
- ``second_process_parent``: a second process parses and groups, and sends the records in
  batches of 500 over a pipe; our process still unpickles every record
  (``pickle.loads`` of the pickled batches);
- ``database_parent``: the raw lines go by ``COPY`` into a temporary ``jsonb`` table and the
  fields the records need come back as columns (psycopg's C loaders); our process pays the
  COPY and the fetch, and would still build the records from those columns (not counted
  here, so this is a lower bound); ``database_wall`` is the same work's wall time, the
  server's JSON parsing included (on the same two cores).

Needs PostgreSQL (``DATABASE_URL``). The file: any products bulk result, e.g. the one the
``import`` scenario leaves under ``MEDIA_ROOT/sandbox_shopify/bulk/``. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time

BATCH = 500
# The columns a product or variant record reads, as the database would hand them back.
TEXT_FIELDS = (
    "id",
    "__parentId",
    "title",
    "handle",
    "descriptionHtml",
    "vendor",
    "productType",
    "status",
    "updatedAt",
    "sku",
    "price",
    "compareAtPrice",
    "inventoryQuantity",
    "legacyResourceId",
)
JSON_FIELDS = ("tags", "selectedOptions", "preview")


def least_cpu(work, passes: int = 3):
    """The least CPU seconds of ``passes`` runs of ``work()``, and its last result."""
    best, result = None, None
    for _ in range(passes):
        started = time.process_time()
        result = work()
        spent = time.process_time() - started
        best = spent if best is None else min(best, spent)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_parsing")
    parser.add_argument("file")
    parser.add_argument("--repeat", type=int, default=1, help="read the file's lines this many times")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "galantis.settings")
    os.environ.setdefault("DEBUG", "True")
    import django

    django.setup()
    import orjson
    from django.db import connection

    from catalog.shopify.bulk import group_products

    if connection.vendor != "postgresql":
        print("bench.import_parsing needs PostgreSQL (DATABASE_URL)", file=sys.stderr)
        return 2
    with open(args.file, "rb") as handle:
        lines = handle.read().splitlines() * args.repeat

    loads_cpu, _ = least_cpu(lambda: [orjson.loads(line) for line in lines])
    in_process_cpu, grouped = least_cpu(lambda: list(group_products(orjson.loads(line) for line in lines)))
    variants = sum(len(g.product.variants) if g.product is not None else 1 for g in grouped)
    pickled = [pickle.dumps(grouped[i : i + BATCH], protocol=5) for i in range(0, len(grouped), BATCH)]
    unpickle_cpu, _ = least_cpu(lambda: [pickle.loads(batch) for batch in pickled])
    columns = ", ".join([*(f"line->>'{name}'" for name in TEXT_FIELDS), *(f"line->'{name}'" for name in JSON_FIELDS)])

    def through_database():
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE IF NOT EXISTS bench_jsonl (n serial, line jsonb)")
            cursor.execute("TRUNCATE bench_jsonl")
            with cursor.cursor.copy("COPY bench_jsonl (line) FROM STDIN") as copy:
                for line in lines:
                    copy.write_row((line.decode(),))
            cursor.execute(f"SELECT {columns} FROM bench_jsonl ORDER BY n")
            return cursor.fetchall()

    database_cpu, _ = least_cpu(through_database)
    started = time.perf_counter()
    through_database()
    database_wall = time.perf_counter() - started

    def per_variant(seconds: float) -> float:
        return round(seconds * 1e6 / variants, 2)

    print(
        json.dumps(
            {
                "lines": len(lines),
                "variants": variants,
                "us_per_variant": {
                    "orjson_loads": per_variant(loads_cpu),
                    "in_process": per_variant(in_process_cpu),
                    "second_process_parent": per_variant(unpickle_cpu),
                    "database_parent": per_variant(database_cpu),
                    "database_wall": per_variant(database_wall),
                },
                "load": list(os.getloadavg()),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
