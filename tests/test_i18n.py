"""The merchant pages speak the request's language: settings, translated pages, plurals, and no stray text.

Issue 18: every merchant-facing string goes through Django's translation functions, so a
second language is a message file, not a template edit.
"""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType
from django.urls import reverse
from django.utils import translation

from alerts import digest
from catalog.connection import flows, token_health
from catalog.meta.errors import AuthError, GraphAPIError, PermissionDenied, TransientError
from catalog.models import Catalog, MetaConnection, VariantEvent
from catalog.tests.factories import LiveVariantFactory, ProductFactory, VariantEventFactory, VariantFactory
from diagnostics.models import ErrorType
from diagnostics.taxonomy import load_error_taxonomy
from diagnostics.templatetags.diagnostics_tags import num
from diagnostics.tests.factories import ErrorTypeFactory

ROOT = Path(settings.BASE_DIR)
# The merchant pages' templates: health, items, product, login, WhatsApp Connection, reports, top bar.
MERCHANT_TEMPLATE_DIRS = [
    ROOT / "diagnostics" / "templates" / "diagnostics",
    ROOT / "templates" / "connection",
    ROOT / "templates" / "merchant",
]
# The staff admin's own templates (Django translates the rest of the admin).
ADMIN_TEMPLATE_DIRS = [ROOT / "templates" / "admin", ROOT / "diagnostics" / "templates" / "admin"]
# Other apps' parts of the health page.
MERCHANT_TEMPLATE_FILES = [
    ROOT / "conversions" / "templates" / "conversions" / "health_panel.html",
    ROOT / "alerts" / "templates" / "alerts" / "banner.html",
]
# Visible words that are not translated, each with its reason.
ALLOWED_WORDS = {
    "Galantis",  # the product's name, the same in every language
}
# Attributes a person reads (tooltips, screen readers, placeholders, the stacked tables' labels).
VISIBLE_ATTRIBUTES = ("title", "alt", "placeholder", "aria-label", "data-label")
MARK = "\x00"  # stands for a template tag or variable in the rebuilt page
TRANSLATE_BLOCKS = {"blocktranslate": "endblocktranslate", "blocktrans": "endblocktrans", "comment": "endcomment"}


def _text_outside_translation(source: str) -> str:
    """The template with every tag, variable and translated block replaced by MARK, literal text kept."""
    out, closing = [], None
    for token in Lexer(source).tokenize():
        if closing:
            if token.token_type == TokenType.BLOCK and token.contents.split()[0] == closing:
                closing = None
            out.append(MARK)
            continue
        if token.token_type == TokenType.TEXT:
            out.append(token.contents)
            continue
        if token.token_type == TokenType.BLOCK:
            closing = TRANSLATE_BLOCKS.get(token.contents.split()[0])
        out.append(MARK)
    return "".join(out)


def _untranslated(source: str) -> list[str]:
    """Words a person would read that no translate tag covers."""
    page = _text_outside_translation(source)
    found = []
    for attribute in VISIBLE_ATTRIBUTES:
        found += re.findall(rf'\s{attribute}="([^"{MARK}]*[A-Za-z]{{2,}}[^"]*)"', page)
    page = re.sub(r"<!--.*?-->", " ", page, flags=re.S)
    page = re.sub(r"<[^>]*>", " ", page)  # tags, even with template marks inside attributes
    page = re.sub(r"&[#\w]+;", " ", page)  # entities
    page = re.sub(r"\b[A-Z]+(?:_[A-Z]+)+\b", " ", page)  # API constants (ONSITE_CHECKOUT), as Meta spells them
    for word in re.findall(r"[A-Za-z][A-Za-z'’]+", page):
        if word not in ALLOWED_WORDS:
            found.append(word)
    return found


def _merchant_templates() -> list[Path]:
    return sorted(
        [*(path for folder in MERCHANT_TEMPLATE_DIRS for path in folder.rglob("*.html")), *MERCHANT_TEMPLATE_FILES]
    )


# --- settings -----------------------------------------------------------------------------------


def test_locale_middleware_sits_between_sessions_and_common():
    middleware = settings.MIDDLEWARE
    locale = middleware.index("django.middleware.locale.LocaleMiddleware")
    assert middleware.index("django.contrib.sessions.middleware.SessionMiddleware") < locale
    assert locale < middleware.index("django.middleware.common.CommonMiddleware")


def test_the_french_catalog_is_compiled_and_committed():
    assert dict(settings.LANGUAGES).keys() == {"en", "fr"}
    assert (ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.mo").is_file()


# --- no stray text in merchant templates --------------------------------------------------------


def test_the_checker_finds_text_outside_translate_tags():
    source = (
        '{% load i18n %}<p title="Hover text">{% translate "Fine" %} Stray words {{ n }}</p>'
        "{% blocktranslate %}Also fine{% endblocktranslate %}{# a comment #}"
    )
    assert _untranslated(source) == ["Hover text", "Stray", "words"]


def _admin_templates() -> list[Path]:
    return sorted(path for folder in ADMIN_TEMPLATE_DIRS for path in folder.rglob("*.html"))


@pytest.mark.parametrize("path", [*_merchant_templates(), *_admin_templates()], ids=lambda p: str(p.relative_to(ROOT)))
def test_template_has_no_text_outside_translate_tags(path):
    assert _untranslated(path.read_text(encoding="utf-8")) == []


# --- plurals ------------------------------------------------------------------------------------


def _item_count(client, language: str) -> str:
    """The items page's "N variant(s)" line, in ``language``."""
    page = client.get(reverse("health:items"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    return re.search(r'data-testid="item-count"[^>]*>([^<]*)<', page).group(1).strip()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("variants", "language", "expected"),
    [(1, "en", "1 variant"), (3, "en", "3 variants"), (1, "fr", "1 variante"), (3, "fr", "3 variantes")],
)
def test_variant_count_is_plural_only_for_several(owner_client, catalog, variants, language, expected):
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store)
    VariantFactory.create_batch(variants, product=product, catalog=catalog)
    assert _item_count(owner_client, language) == expected


# --- pages in French ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_health_page_in_french(owner_client, catalog):
    response = owner_client.get(reverse("health:index"), HTTP_ACCEPT_LANGUAGE="fr")
    page = response.content.decode()
    assert '<html lang="fr">' in page
    assert ">Santé du catalogue</a>" in page  # the top bar
    assert ">Connexion WhatsApp</a>" in page
    assert "<h1>Santé du catalogue</h1>" in page
    assert "Connexion à Meta" in page


@pytest.mark.django_db
def test_whatsapp_connection_page_in_french(owner_client, catalog):
    response = owner_client.get(reverse("connection:whatsapp"), HTTP_ACCEPT_LANGUAGE="fr")
    page = response.content.decode()
    assert '<html lang="fr">' in page
    assert ">Santé du catalogue</a>" in page
    assert "<h1>Connexion WhatsApp</h1>" in page
    assert "Jeton du catalogue Meta" in page


@pytest.mark.django_db
def test_health_page_stays_english_without_accept_language(owner_client, catalog):
    page = owner_client.get(reverse("health:index")).content.decode()
    assert '<html lang="en">' in page and "<h1>Catalog health</h1>" in page


# --- the error taxonomy --------------------------------------------------------------------------


@pytest.mark.django_db
def test_taxonomy_wording_is_stored_in_english_and_shown_in_french():
    load_error_taxonomy()
    error_type = ErrorType.objects.get(code="TOKEN_EXPIRED")
    assert error_type.title == "Meta access token expired"
    with translation.override("fr"):
        assert error_type.display_title == "Le jeton d’accès Meta a expiré"


@pytest.mark.django_db
def test_metas_own_wording_is_shown_as_meta_wrote_it():
    error_type = ErrorTypeFactory(code="SOMETHING_NEW", title="", meta_title="Quelque chose de Meta", description="")
    with translation.override("fr"):
        assert error_type.display_title == "Quelque chose de Meta"
        assert error_type.display_description == ""  # never gettext(""), which is the catalog's header


# --- refusals on WhatsApp Connection -------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("action", sorted(flows._FAILURES))
def test_every_graph_failure_sentence_fills_its_placeholders(action, language):
    with translation.override(language):
        for exc in (TransientError("down"), AuthError("bad token"), PermissionDenied("no"), GraphAPIError("odd")):
            message = str(flows._graph_failure(exc, action, business="123"))
            assert "%(" not in message and "Meta" in message


# --- numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "expected"), [("en", "1,234,567"), ("fr", "1\xa0234\xa0567")])
def test_counts_are_grouped_the_languages_way(language, expected):
    with translation.override(language):
        assert num(1234567) == expected


# --- texts stored in English, shown in the reader's language (issue 18 part 5) -------------------


def _product_with_event(catalog, **event):
    variant = VariantFactory(product=ProductFactory(tenant=catalog.tenant, store=catalog.store), catalog=catalog)
    VariantEventFactory(variant=variant, **event)
    return variant.product


@pytest.mark.django_db
def test_timeline_event_summary_is_shown_in_french_on_the_product_page(owner_client, catalog):
    product = _product_with_event(
        catalog, kind=VariantEvent.Kind.SHOPIFY, batch_id=12, detail={"via": "items_batch"}, message="New variant"
    )
    page = owner_client.get(reverse("health:product", args=[product.pk]), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Modification Shopify reçue · dans le lot d’articles n° 12 : Nouvelle variante" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("whatsapp", "expected"),
    [
        ("PENDING", "En ligne dans le catalogue, pas encore sur WhatsApp : l’examen WhatsApp de Meta est en cours."),
        (
            "NO_REVIEW",
            "En ligne dans le catalogue mais pas sur WhatsApp : WhatsApp est désactivé pour cet article dans "
            "Commerce Manager.",
        ),
        ("REJECTED", "En ligne dans le catalogue mais pas sur WhatsApp : le statut WhatsApp de Meta est REJECTED."),
    ],
)
def test_live_but_not_on_whatsapp_is_said_in_french(owner_client, catalog, whatsapp, expected):
    variant = LiveVariantFactory(catalog=catalog, channel_review={"whatsapp": whatsapp})
    VariantEventFactory(variant=variant, kind=VariantEvent.Kind.WHATSAPP, at=datetime(2026, 3, 5, 14, 30, tzinfo=UTC))
    page = owner_client.get(
        reverse("health:product", args=[variant.product_id]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert f'<p class="headline">{expected}</p>' in page
    since = re.search(r'data-testid="not-shown-since">([^<]*)<a href="#history">([^<]*)<', page)
    assert since.group(1).startswith("Depuis le 5 ") and "(il y a " in since.group(1)  # since when, in French
    assert since.group(2) == "Historique"


@pytest.mark.django_db
def test_metas_message_in_a_timeline_event_stays_as_meta_wrote_it(owner_client, catalog):
    product = _product_with_event(catalog, kind=VariantEvent.Kind.REJECTED, message="Invalid price format")
    page = owner_client.get(reverse("health:product", args=[product.pk]), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Refusé par Meta : Invalid price format" in page


@pytest.mark.django_db
def test_pause_reason_is_a_french_sentence_with_metas_detail_untranslated(owner_client, catalog):
    Catalog.objects.filter(pk=catalog.pk).update(
        pause_kind=Catalog.PauseKind.ERROR, paused_reason="(#100) Invalid parameter"
    )
    page = owner_client.get(reverse("health:index"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Meta a refusé notre requête ; la synchronisation réessaie plus tard. (#100) Invalid parameter" in page


@pytest.mark.django_db
def test_alert_banner_is_shown_in_french(owner_client, tenant, catalog):
    Catalog.objects.filter(pk=catalog.pk).update(pause_kind=Catalog.PauseKind.MANUAL, paused_reason="Stocktake")
    digest.build_for_tenant(tenant)
    page = owner_client.get(reverse("health:index"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "La synchronisation de Tenant A catalog est en pause : mis en pause par l’équipe" in page
    assert "Stocktake Les modifications en attente sont conservées." in page


@pytest.mark.django_db
def test_alert_digest_is_written_in_the_sites_language(owner_user, tenant, catalog):
    Catalog.objects.filter(pk=catalog.pk).update(pause_kind=Catalog.PauseKind.MANUAL, paused_reason="Stocktake")
    with translation.override("fr"):  # a French request around it does not make the e-mail French
        built = digest.build_for_tenant(tenant)
    assert built.subject == "[Galantis] Tenant A: 1 alert — Sync of Tenant A catalog is paused: paused by staff"
    assert "Stocktake Pending changes are kept." in built.body


@pytest.mark.parametrize(("days", "expected"), [(1, "(in 1 day)."), (3, "(in 3 days).")])
def test_token_expiry_says_day_only_for_one(days, expected):
    expires = datetime(2030, 1, 2, tzinfo=UTC)
    with translation.override("en"):
        assert token_health._message(MetaConnection.TokenStatus.EXPIRING, expires, days).endswith(expected)


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, "1 batch in flight to the old catalog is abandoned"), (2, "2 batches in flight to the old catalog are")],
)
def test_abandoned_batches_are_counted_in_the_singular_for_one(count, expected):
    current = Catalog(name="Old", meta_catalog_id="111")
    plan = flows.SwitchPlan("create", "", "", current, variants=3, pending=0, in_flight=count)
    with translation.override("en"):
        assert plan.consequences()[1].startswith(expected)


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, "1 variant is attached to the new catalog"), (2, "All 2 variants are attached to the new catalog")],
)
def test_attached_variants_are_counted_in_the_singular_for_one(count, expected):
    current = Catalog(name="Old", meta_catalog_id="111")
    plan = flows.SwitchPlan("create", "", "", current, variants=count, pending=0, in_flight=0)
    with translation.override("en"):
        assert plan.consequences()[1].startswith(expected)
