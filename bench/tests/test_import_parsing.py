"""bench.import_parsing: the three places the import's parsing could run, measured on a real bulk file shape."""

import json

import pytest
from django.db import connection

from bench import import_parsing

PRODUCT = {
    "id": "gid://shopify/Product/7601000000005",
    "title": "Bamboo gift card",
    "handle": "bamboo-gift-card",
    "status": "ACTIVE",
    "updatedAt": "2024-12-11T04:06:53Z",
    "tags": ["bestseller"],
}
VARIANT = {
    "id": "gid://shopify/ProductVariant/8601000000001",
    "price": "12.00",
    "sku": "GC-1",
    "selectedOptions": [{"name": "Title", "value": "Default Title"}],
    "__parentId": PRODUCT["id"],
}


@pytest.mark.django_db
def test_it_reports_our_cpu_per_variant_for_each_place(tmp_path, capsys):
    if connection.vendor != "postgresql":
        pytest.skip("the database variant needs PostgreSQL")
    path = tmp_path / "bulk.jsonl"
    lines = []
    for n in range(50):
        product_id = f"{PRODUCT['id']}{n}"
        lines += [{**PRODUCT, "id": product_id}, {**VARIANT, "id": f"{VARIANT['id']}{n}", "__parentId": product_id}]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    assert import_parsing.main([str(path)]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["variants"] == 50
    assert set(report["us_per_variant"]) == {
        "orjson_loads",
        "in_process",
        "second_process_parent",
        "database_parent",
        "database_wall",
    }
    assert all(value > 0 for value in report["us_per_variant"].values())
