"""WhatsApp Cloud API interactive messages: the JSON for ready items, refusals with reasons, the limits."""

import pytest

from catalog.models import ProductSetMembership, Variant
from catalog.tests.factories import CatalogFactory, LiveVariantFactory, ProductFactory, ProductSetFactory
from catalog.whatsapp import messages as wa
from catalog.whatsapp import readiness as rd

pytestmark = pytest.mark.django_db


def loaded(*variants: Variant) -> list[Variant]:
    """The variants as the builder receives them (product and catalog selected)."""
    by_pk = {v.pk: v for v in rd.with_relations(Variant.objects.filter(pk__in=[v.pk for v in variants]))}
    return [by_pk[v.pk] for v in variants]


@pytest.fixture
def catalog():
    return CatalogFactory(meta_catalog_id="1234567890")


# -- single product ------------------------------------------------------------------------------


def test_a_ready_variant_makes_a_single_product_message(catalog):
    [variant] = loaded(LiveVariantFactory(catalog=catalog, retailer_id="44000000000021"))
    built = wa.product_message(variant, to="+1 650-555-1234", body="Our best seller", footer="Free returns")
    assert built.ok and not built.refused
    assert built.payload == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "16505551234",
        "type": "interactive",
        "interactive": {
            "type": "product",
            "body": {"text": "Our best seller"},
            "footer": {"text": "Free returns"},
            "action": {"catalog_id": "1234567890", "product_retailer_id": "44000000000021"},
        },
    }


def test_a_single_product_message_leaves_out_empty_texts(catalog):
    [variant] = loaded(LiveVariantFactory(catalog=catalog))
    interactive = wa.product_message(variant, to="16505551234").payload["interactive"]
    assert set(interactive) == {"type", "action"}


def test_a_variant_not_ready_is_refused_with_its_reasons(catalog):
    [variant] = loaded(LiveVariantFactory(catalog=catalog, inventory_quantity=0))
    built = wa.product_message(variant, to="16505551234")
    assert built.payload is None
    assert [(r.retailer_id, r.reasons) for r in built.refused] == [(variant.retailer_id, (rd.OUT_OF_STOCK,))]


def test_a_linked_catalogs_item_is_named_by_meta_s_retailer_id(catalog):
    [variant] = loaded(LiveVariantFactory(catalog=catalog, meta_retailer_id="wc_post_id_77"))
    built = wa.product_message(variant, to="16505551234")
    assert built.payload["interactive"]["action"]["product_retailer_id"] == "wc_post_id_77"


@pytest.mark.parametrize(
    ("to", "expected"),
    [("+44 20 7946 0958", "442079460958"), ("16505551234", "16505551234"), (None, wa.RECIPIENT_PLACEHOLDER)],
)
def test_the_recipient_is_digits_with_the_country_code(catalog, to, expected):
    [variant] = loaded(LiveVariantFactory(catalog=catalog))
    assert wa.product_message(variant, to=to).payload["to"] == expected


@pytest.mark.parametrize("to", ["call me", "12345", "0044 20 7946 0958"])
def test_a_recipient_that_is_no_phone_number_is_refused(catalog, to):
    [variant] = loaded(LiveVariantFactory(catalog=catalog))
    built = wa.product_message(variant, to=to)
    assert built.payload is None and "is not a phone number" in built.problems[0]


# -- multi product -------------------------------------------------------------------------------


def test_ready_variants_make_a_multi_product_message_in_sections(catalog):
    a, b, c = loaded(*(LiveVariantFactory(catalog=catalog, retailer_id=f"r{i}") for i in range(3)))
    built = wa.product_list_message(
        [wa.Section("Shirts", [a, b]), wa.Section("Shoes", [c])],
        to="16505551234",
        header="Summer sale",
        body="Tap to see",
        footer="Until Sunday",
    )
    assert built.ok
    assert built.payload["interactive"] == {
        "type": "product_list",
        "header": {"type": "text", "text": "Summer sale"},
        "body": {"text": "Tap to see"},
        "footer": {"text": "Until Sunday"},
        "action": {
            "catalog_id": "1234567890",
            "sections": [
                {"title": "Shirts", "product_items": [{"product_retailer_id": "r0"}, {"product_retailer_id": "r1"}]},
                {"title": "Shoes", "product_items": [{"product_retailer_id": "r2"}]},
            ],
        },
    }
    assert built.retailer_ids == ["r0", "r1", "r2"]


def test_a_multi_product_message_refuses_items_not_ready_and_shows_the_others(catalog):
    ready, hidden = loaded(
        LiveVariantFactory(catalog=catalog),
        LiveVariantFactory(catalog=catalog, visibility="staging", verdict="NOT_VISIBLE"),
    )
    built = wa.product_list_message([wa.Section("All", [ready, hidden])], to="16505551234", header="H", body="B")
    assert built.retailer_ids == [ready.retailer_id]
    assert [(r.retailer_id, r.reasons) for r in built.refused] == [(hidden.retailer_id, (rd.HIDDEN,))]


def test_a_multi_product_message_drops_a_section_left_empty(catalog):
    ready, out = loaded(LiveVariantFactory(catalog=catalog), LiveVariantFactory(catalog=catalog, inventory_quantity=0))
    built = wa.product_list_message(
        [wa.Section("In", [ready]), wa.Section("Out", [out])], to=None, header="H", body="B"
    )
    assert [s["title"] for s in built.payload["interactive"]["action"]["sections"]] == ["In"]


def test_a_multi_product_message_with_nothing_ready_is_not_built(catalog):
    [out] = loaded(LiveVariantFactory(catalog=catalog, inventory_quantity=0))
    built = wa.product_list_message([wa.Section("Out", [out])], to=None, header="H", body="B")
    assert built.payload is None and "No chosen item is ready for WhatsApp." in built.problems


def test_an_item_of_another_catalog_is_refused(catalog):
    mine, theirs = loaded(LiveVariantFactory(catalog=catalog), LiveVariantFactory())
    built = wa.product_list_message([wa.Section("All", [mine, theirs])], to=None, header="H", body="B")
    assert built.retailer_ids == [mine.retailer_id]
    assert "one message shows one catalog" in built.refused[0].reasons[0]


@pytest.mark.parametrize(("count", "ok"), [(30, True), (31, False)])
def test_a_multi_product_message_shows_at_most_30_items(catalog, count, ok):
    variants = loaded(*LiveVariantFactory.create_batch(count, catalog=catalog))
    built = wa.product_list_message([wa.Section("All", variants)], to=None, header="H", body="B")
    assert built.ok is ok
    if not ok:
        assert built.problems == ("A multi-product message shows at most 30 items; 31 are ready. Choose fewer.",)


@pytest.mark.parametrize(("count", "ok"), [(10, True), (11, False)])
def test_a_multi_product_message_has_at_most_10_sections(catalog, count, ok):
    variants = loaded(*LiveVariantFactory.create_batch(count, catalog=catalog))
    built = wa.product_list_message(
        [wa.Section(f"S{i}", [v]) for i, v in enumerate(variants)], to=None, header="H", body="B"
    )
    assert built.ok is ok
    if not ok:
        assert built.problems == ("A multi-product message has at most 10 sections; this one has 11.",)


@pytest.mark.parametrize(("title", "ok"), [("x" * 24, True), ("x" * 25, False), ("", False)])
def test_a_section_title_has_1_to_24_characters(catalog, title, ok):
    variants = loaded(LiveVariantFactory(catalog=catalog))
    built = wa.product_list_message([wa.Section(title, variants)], to=None, header="H", body="B")
    assert built.ok is ok


@pytest.mark.parametrize(
    ("texts", "problem"),
    [
        ({"header": "h" * 61, "body": "B"}, "The header text is 61 characters long; WhatsApp allows at most 60."),
        ({"header": "H", "body": "b" * 1025}, "The body text is 1025 characters long; WhatsApp allows at most 1024."),
        (
            {"header": "H", "body": "B", "footer": "f" * 61},
            "The footer text is 61 characters long; WhatsApp allows at most 60.",
        ),
        ({"header": "", "body": "B"}, "The header text is required."),
        ({"header": "H", "body": " "}, "The body text is required."),
    ],
    ids=["header-61", "body-1025", "footer-61", "no-header", "no-body"],
)
def test_a_multi_product_message_s_texts_keep_whatsapp_s_limits(catalog, texts, problem):
    variants = loaded(LiveVariantFactory(catalog=catalog))
    built = wa.product_list_message([wa.Section("All", variants)], to=None, **texts)
    assert built.payload is None and built.problems == (problem,)


def test_texts_at_the_limits_are_accepted(catalog):
    variants = loaded(LiveVariantFactory(catalog=catalog))
    built = wa.product_list_message(
        [wa.Section("All", variants)], to=None, header="h" * 60, body="b" * 1024, footer="f" * 60
    )
    assert built.ok


# -- whole catalog -------------------------------------------------------------------------------


def test_a_catalog_message_shows_a_ready_item_as_its_thumbnail(catalog):
    LiveVariantFactory(catalog=catalog, inventory_quantity=0)
    thumbnail = LiveVariantFactory(catalog=catalog, retailer_id="thumb-1")
    built = wa.catalog_message(catalog, to="16505551234", body="Our whole shop", footer="New every week")
    assert built.payload["interactive"] == {
        "type": "catalog_message",
        "body": {"text": "Our whole shop"},
        "footer": {"text": "New every week"},
        "action": {"name": "catalog_message", "parameters": {"thumbnail_product_retailer_id": thumbnail.retailer_id}},
    }


def test_a_catalog_message_refuses_a_thumbnail_not_ready(catalog):
    [out] = loaded(LiveVariantFactory(catalog=catalog, inventory_quantity=0))
    built = wa.catalog_message(catalog, to=None, body="B", thumbnail=out)
    assert built.payload is None and built.refused[0].reasons == (rd.OUT_OF_STOCK,)


def test_a_catalog_message_needs_a_body_and_a_ready_item(catalog):
    LiveVariantFactory(catalog=catalog, inventory_quantity=0)
    built = wa.catalog_message(catalog, to=None, body="")
    assert built.problems == (
        "The body text is required.",
        "No item of the catalog is ready for WhatsApp, so there is no thumbnail to show.",
    )


# -- from a product set --------------------------------------------------------------------------


def collection_of(catalog, variants, name="Summer"):
    product_set = ProductSetFactory(catalog=catalog, name=name, shopify_collection_id=77)
    for product_id in dict.fromkeys(v.product_id for v in variants):
        ProductSetMembership.objects.create(tenant=catalog.tenant, product_set=product_set, product_id=product_id)
    return product_set


def test_a_product_set_with_ready_and_not_ready_variants_shows_the_ready_and_refuses_the_rest(catalog):
    product = ProductFactory(tenant=catalog.tenant)
    small = LiveVariantFactory(catalog=catalog, product=product, position=1)
    large = LiveVariantFactory(catalog=catalog, product=product, position=2, inventory_quantity=0)
    rejected = LiveVariantFactory(
        catalog=catalog, review_status="rejected", verdict="REJECTED", review_rejection_reasons=["PRODUCT_NOT_APPROVED"]
    )
    other = LiveVariantFactory(catalog=catalog)
    product_set = collection_of(catalog, [small, large, rejected, other])

    built = wa.message_for_product_set(product_set, to="16505551234")

    assert built.ok and built.kind == "product_list"
    assert built.retailer_ids == [small.retailer_id, other.retailer_id]
    assert {r.retailer_id: r.reasons for r in built.refused} == {
        large.retailer_id: (rd.OUT_OF_STOCK,),
        rejected.retailer_id: (rd.REVIEW_REJECTED.format(why="PRODUCT_NOT_APPROVED"),),
    }
    interactive = built.payload["interactive"]
    assert interactive["header"] == {"type": "text", "text": "Summer"}
    assert interactive["action"]["sections"][0]["title"] == "Summer"


def test_a_big_product_set_fills_one_message_and_counts_what_is_left_out(catalog):
    product_set = collection_of(catalog, LiveVariantFactory.create_batch(33, catalog=catalog))
    built = wa.message_for_product_set(product_set, to=None)
    assert len(built.retailer_ids) == 30 and built.left_out == 3
    assert "3 more ready items are left out: one message shows at most 30." in built.notes


def test_a_long_set_name_is_shortened_to_the_limits_for_default_texts(catalog):
    name = "The very long name of a summer collection with many words in it, longer than any header"
    product_set = collection_of(catalog, [LiveVariantFactory(catalog=catalog)], name=name)
    interactive = wa.message_for_product_set(product_set, to=None).payload["interactive"]
    assert len(interactive["header"]["text"]) == 60
    assert len(interactive["action"]["sections"][0]["title"]) == 24


def test_a_section_title_typed_too_long_is_refused_not_cut(catalog):
    product_set = collection_of(catalog, [LiveVariantFactory(catalog=catalog)])
    built = wa.message_for_product_set(product_set, to=None, section_title="A title of twenty-five ch")
    assert built.payload is None and "at most 24" in built.problems[0]


def test_a_product_set_makes_single_product_and_catalog_messages_too(catalog):
    out = LiveVariantFactory(catalog=catalog, inventory_quantity=0)
    ready = LiveVariantFactory(catalog=catalog)
    product_set = collection_of(catalog, [out, ready])
    single = wa.message_for_product_set(product_set, to=None, kind=wa.PRODUCT)
    whole = wa.message_for_product_set(product_set, to=None, kind=wa.CATALOG_MESSAGE)
    assert single.payload["interactive"]["action"]["product_retailer_id"] == ready.retailer_id
    assert whole.payload["interactive"]["action"]["parameters"] == {"thumbnail_product_retailer_id": ready.retailer_id}
    assert [r.retailer_id for r in single.refused] == [out.retailer_id]


def test_a_product_set_with_nothing_ready_builds_nothing_and_says_why(catalog):
    out = LiveVariantFactory(catalog=catalog, inventory_quantity=0)
    built = wa.message_for_product_set(collection_of(catalog, [out]), to=None)
    assert built.payload is None
    assert built.problems == ("None of the set's items is ready (see the reasons below).",)
    assert built.refused[0].reasons == (rd.OUT_OF_STOCK,)
