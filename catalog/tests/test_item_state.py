"""The item-state writer: one module writes a variant's state; local validation is complete."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import item_state, items
from catalog.models import Product, ShopifyStore, Variant
from catalog.sync.item_rows import VariantRow
from catalog.sync.push import SendGate

ROOT = Path(__file__).resolve().parents[2]
# Product code: everything but tests, migrations, benchmarks and the sandbox (which imitates Meta).
PRODUCT_CODE = ("catalog", "diagnostics", "galantis")
WRITER = ROOT / "catalog" / "item_state.py"
# Calls whose keyword arguments are written to rows.
WRITING_CALLS = {"update", "create", "bulk_create", "update_or_create", "get_or_create"}
STATE_FIELDS = {"meta_status", "failure_source", "verdict", "review_status"}


def _product_modules():
    for package in PRODUCT_CODE:
        for path in (ROOT / package).rglob("*.py"):
            if path == WRITER or {"tests", "migrations"} & set(path.parts):
                continue
            yield path


def _writes_of_state(path: Path) -> list[str]:
    """Lines of ``path`` that write a variant's state outside the writer."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            fields = {k.arg for k in node.keywords} if name in WRITING_CALLS else set()
            if name == "bulk_update" and len(node.args) > 1 and isinstance(node.args[1], ast.List | ast.Tuple):
                fields = {e.value for e in node.args[1].elts if isinstance(e, ast.Constant)}
            if hits := fields & STATE_FIELDS:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}({', '.join(sorted(hits))})")
        elif isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr in STATE_FIELDS:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{target.attr} =")
    return found


def test_only_the_item_state_module_writes_a_variants_state():
    offenders = [hit for path in _product_modules() for hit in _writes_of_state(path)]
    assert offenders == []


def test_the_scan_finds_a_write(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("Variant.objects.filter(pk=1).update(meta_status='SYNCED')\nv.meta_status = 'X'\n")
    root = ROOT
    try:
        globals()["ROOT"] = tmp_path
        assert len(_writes_of_state(sample)) == 2
    finally:
        globals()["ROOT"] = root


# -- Meta's verdict ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("review", "visibility", "image", "channels", "expected"),
    [
        ("approved", "published", "FETCHED", {"whatsapp": "APPROVED"}, Variant.Verdict.LIVE),
        ("rejected", "published", "FETCHED", {}, Variant.Verdict.REJECTED),
        ("approved", "staging", "FETCHED", {}, Variant.Verdict.NOT_VISIBLE),
        ("approved", "published", "FETCH_FAILED", {}, Variant.Verdict.NOT_VISIBLE),
        ("approved", "published", "FETCHED", {"whatsapp": "REJECTED"}, Variant.Verdict.NOT_VISIBLE),
        ("pending", "published", "", {}, Variant.Verdict.IN_REVIEW),
        ("", "", "", None, Variant.Verdict.IN_REVIEW),
        ("under_appeal", "published", "FETCHED", {}, Variant.Verdict.IN_REVIEW),
    ],
)
def test_verdict_from_metas_fields(review, visibility, image, channels, expected):
    assert item_state.verdict_for(review, visibility, image, channels) == expected


def test_a_review_status_meta_adds_later_is_shown_not_hidden():
    assert item_state.review_label("under_appeal") == "unknown: under_appeal"
    assert item_state.review_label("approved") == "Approved"


def test_channel_review_in_metas_list_shape_is_read():
    verdict = item_state.ItemVerdict.from_graph(
        {
            "retailer_id": "1",
            "review_status": "approved",
            "visibility": "published",
            "capability_to_review_status": [{"key": "whatsapp", "value": "REJECTED"}, {"key": "shops", "value": "X"}],
        }
    )
    assert verdict.verdict == Variant.Verdict.NOT_VISIBLE


def test_absurd_verdict_rows_do_not_crash():
    for row in (
        {},
        {"retailer_id": None, "review_rejection_reasons": "x", "capability_to_review_status": 7},
        {"retailer_id": "1", "review_status": "x" * 500},
    ):
        item_state.ItemVerdict.from_graph(row).verdict  # noqa: B018


# -- Local validation: any Shopify product maps to a valid item or a clear FAILED ----------------

texts = st.text(max_size=300)
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("999999999999.99"), places=2, allow_nan=False)
urls = st.one_of(
    st.just(""),
    st.just("https://cdn.example.com/a.jpg"),
    st.just("ftp://x/y.png"),
    st.just("https://cdn.example.com/a b.jpg"),
    st.just("https://user:pw@cdn.example.com/a.jpg"),
    st.builds(lambda s: "https://cdn.example.com/" + s, st.text(max_size=40)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=texts,
    description=texts,
    vendor=st.text(max_size=150),
    product_type=st.text(max_size=800),
    status=st.sampled_from(Product.Status.values),
    published=st.booleans(),
    image=urls,
    price=prices,
    compare_at=st.one_of(st.none(), prices),
    quantity=st.integers(-(10**6), 10**6),
    tracked=st.booleans(),
    options=st.dictionaries(st.sampled_from(["Color", "Size", "Material"]), texts, max_size=3),
    label=st.text(max_size=120),
    currency=st.sampled_from(["USD", "EUR", "JPY", "KWD"]),
)
def test_any_shopify_product_is_a_valid_item_or_failed_with_a_reason(
    title,
    description,
    vendor,
    product_type,
    status,
    published,
    image,
    price,
    compare_at,
    quantity,
    tracked,
    options,
    label,
    currency,
):
    from sandbox.graph.validation import check_fields, check_required

    store = ShopifyStore(
        pk=1,
        shop_domain="shop.myshopify.com",
        name="Shop",
        currency=currency,
        primary_domain_url="https://shop.example.com",
    )
    product = Product(
        pk=1,
        store=store,
        shopify_product_id=7,
        handle="thing",
        title=title,
        description_html=description,
        vendor=vendor,
        product_type=product_type,
        status=status,
        published=published,
        images=[{"src": image}] if image else [],
        custom_label_0=label,
    )
    variant = Variant(
        pk=1,
        product=product,
        shopify_variant_id=8,
        retailer_id="8",
        price=price,
        compare_at_price=compare_at,
        inventory_quantity=quantity,
        inventory_tracked=tracked,
        options=options,
    )
    item_state.refresh_variant(variant, product, store)
    item = items.meta_item(variant, product, store)
    if variant.excluded:
        assert variant.meta_status != Variant.SyncStatus.FAILED
        return
    if variant.meta_status == Variant.SyncStatus.FAILED:
        assert variant.failure_source == Variant.FailureSource.LOCAL
        assert variant.last_error and variant.last_error_fix
        # Nothing failed locally leaves the building: the send-time gate refuses it.
        row = VariantRow(**{f: None for f in VariantRow._fields} | {"pk": 1, "synced_hash": "", "meta_item_id": ""})
        assert not SendGate(batch=None).check(row, item, items.canonical_bytes(item), held_method="HIDE")
    else:
        # What we send live, Meta's own validation (the sandbox's) accepts.
        assert check_fields(item) == [] and check_required(item) == [], item


@pytest.mark.django_db
def test_a_variant_edited_while_its_verdict_was_read_gets_metas_fields_but_no_verdict(catalog):
    from catalog.tests.factories import ProductFactory, VariantFactory

    product = ProductFactory(tenant=catalog.tenant, store=catalog.store)
    synced, edited = (
        VariantFactory(product=product, catalog=catalog, meta_status=Variant.SyncStatus.SYNCED) for _ in range(2)
    )
    Variant.objects.filter(pk=edited.pk).update(meta_status=Variant.SyncStatus.PENDING)  # changed meanwhile
    read = [
        item_state.ItemVerdict(
            retailer_id=v.retailer_id, review_status="approved", visibility="published", image_fetch_status="FETCHED"
        )
        for v in (synced, edited)
    ]
    assert item_state.record_verdicts(catalog.pk, read) == 2
    synced.refresh_from_db()
    edited.refresh_from_db()
    assert synced.verdict == Variant.Verdict.LIVE
    assert (edited.verdict, edited.review_status) == (Variant.Verdict.NONE, "approved")
