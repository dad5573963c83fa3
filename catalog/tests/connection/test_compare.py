"""Comparing our item payload with the values Meta returns when reading an item."""

from decimal import Decimal

import pytest

from catalog.connection.reconcile import compare, parse_price


@pytest.mark.parametrize(
    ("value", "hint", "expected"),
    [
        ("19.99 USD", "", (Decimal("19.99"), "USD")),
        ("$19.99", "", (Decimal("19.99"), "USD")),
        ("1,299.00", "EUR", (Decimal("1299.00"), "EUR")),
        ("12,50 €", "", (Decimal("12.50"), "EUR")),
        (1999, "USD", (Decimal("19.99"), "USD")),
        ("1500 JPY", "", (Decimal("1500"), "JPY")),
    ],
)
def test_parse_price_reads_meta_formats(value, hint, expected):
    assert parse_price(value, hint) == expected


def test_identical_values_give_no_differences():
    ours = {
        "title": "Tee",
        "price": "19.99 USD",
        "availability": "in stock",
        "link": "https://s/p",
        "quantity_to_sell_on_facebook": 5,
    }
    meta = {
        "name": "Tee ",
        "price": "$19.99",
        "currency": "USD",
        "availability": "IN STOCK",
        "url": "https://s/p",
        "quantity_to_sell_on_facebook": "5",
    }
    assert compare(ours, meta) == []


def test_differences_are_listed_field_by_field():
    ours = {"title": "Tee", "price": "19.99 USD", "availability": "in stock"}
    meta = {"name": "Old tee", "price": "17.00 USD", "availability": "in stock"}
    diffs = {d["field"]: d for d in compare(ours, meta)}
    assert set(diffs) == {"title", "price"}
    assert diffs["price"] == {"field": "price", "ours": "19.99 USD", "meta": "17.00 USD"}


def test_a_sale_price_only_meta_has_is_a_difference():
    diffs = compare({"price": "10.00 USD"}, {"price": "10.00 USD", "sale_price": "8.00 USD"})
    assert [d["field"] for d in diffs] == ["sale_price"]


def test_currency_mismatch_is_a_difference():
    diffs = compare({"price": "10.00 USD"}, {"price": "10.00 EUR"})
    assert [d["field"] for d in diffs] == ["price"]
