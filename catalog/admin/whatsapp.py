"""Admin pages that build WhatsApp product messages: from a product set, or from chosen products.

Building a message is a read (``Action.VIEW``): nothing is sent or written, the page shows
the JSON a messaging module would post and the items it refused, with why. Reached in two
clicks: Product sets → "Build message" on the set's row (or the set's page), and Products
→ "Build WhatsApp message" (or a product's page, which pre-fills its variants).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.db.models.options import Options
from django.http import HttpRequest, QueryDict
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from catalog.models import Product, ProductSet, Tenant, Variant
from catalog.permissions import Action, allowed_tenants
from catalog.whatsapp import messages as wa
from catalog.whatsapp import readiness

from .base import admin_page, any_tenant_view, object_view, scope_for_user

TEMPLATE = "admin/catalog/whatsapp_message.html"
KINDS = [
    (wa.PRODUCT_LIST, "Multi-product message (product_list)"),
    (wa.PRODUCT, "Single-product message (product)"),
    (wa.CATALOG_MESSAGE, "Catalog message (catalog_message)"),
]
# Texts a message from chosen products starts with (staff change them on the page).
CHOSEN_DEFAULTS = {
    "kind": wa.PRODUCT_LIST,
    "header": "Our selection for you",
    "body": "Tap an item to see it, add it to your cart and send us your order.",
    "section_title": "Our selection",
}
# Lines of the chosen-products box; more are not looked up (a message shows 30 items).
MAX_LINES = 200


class MessageForm(forms.Form):
    """The message's kind, recipient and texts (blank texts of a set's message take its defaults)."""

    kind = forms.ChoiceField(choices=KINDS, initial=wa.PRODUCT_LIST)
    to = forms.CharField(
        required=False,
        max_length=32,
        label="Recipient",
        help_text="Phone number with country code; blank leaves a placeholder.",
    )
    header = forms.CharField(required=False, max_length=2000, help_text=f"Multi-product only, ≤ {wa.HEADER_MAX}.")
    body = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"≤ {wa.BODY_MAX} characters.",
    )
    footer = forms.CharField(required=False, max_length=2000, help_text=f"≤ {wa.FOOTER_MAX} characters.")
    section_title = forms.CharField(
        required=False, max_length=2000, help_text=f"Multi-product only, ≤ {wa.SECTION_TITLE_MAX}."
    )

    def texts(self) -> dict:
        """The typed texts; a blank header, body or section title is None (the set's default)."""
        data = self.cleaned_data
        return {name: data.get(name) or None for name in ("header", "body", "section_title")} | {
            "footer": data.get("footer") or ""
        }


class ChosenProductsForm(MessageForm):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none(), to_field_name="slug", required=False)
    items = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 60}),
        help_text="One per line: a SKU, Meta retailer id, or Shopify product or variant id (a product brings all "
        "its variants). A line “# Title” starts a new section.",
    )
    field_order = ["tenant", "items", "kind", "to", "header", "body", "footer", "section_title"]

    def __init__(self, *args, tenants: QuerySet[Tenant], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = tenants
        if len(tenants) <= 1:
            self.fields["tenant"].widget = forms.HiddenInput()


def _link(url: str, text: str) -> str:
    return format_html('<a href="{}">{}</a>', url, text)


def _context(admin_site: admin.AdminSite, request: HttpRequest, opts: Options, **extra: object) -> dict:
    return {
        **admin_site.each_context(request),
        "opts": opts,
        "limits": {
            "sections": wa.MAX_SECTIONS,
            "items": wa.MAX_ITEMS,
            "section_title": wa.SECTION_TITLE_MAX,
            "header": wa.HEADER_MAX,
            "body": wa.BODY_MAX,
            "footer": wa.FOOTER_MAX,
        },
        **extra,
    }


class ProductSetMessageMixin:
    """``<set>/whatsapp/``: the set's readiness and its message; a "Build message" link per row."""

    def get_urls(self):
        return [admin_page(self, "<int:pk>/whatsapp/", self.whatsapp_message_view, "whatsapp")] + super().get_urls()

    @admin.display(description="WhatsApp")
    def whatsapp_link(self, obj: ProductSet) -> str:
        return _link(reverse("admin:catalog_productset_whatsapp", args=[obj.pk]), "Build message")

    @object_view(get=Action.VIEW)
    def whatsapp_message_view(self, request: HttpRequest, product_set: ProductSet):
        form = MessageForm(request.GET or None)
        texts = {}
        kind, to = wa.PRODUCT_LIST, None
        if form.is_bound and form.is_valid():
            kind, to = form.cleaned_data["kind"], form.cleaned_data["to"] or None
            texts = form.texts()
        summary = readiness.set_readiness(product_set)
        built = wa.message_for_product_set(product_set, to=to, kind=kind, summary=summary, **texts)
        if not form.is_bound:
            form = MessageForm(initial={**wa.default_texts(product_set), "kind": kind})
        context = _context(
            self.admin_site,
            request,
            self.opts,
            title=f"WhatsApp message: {product_set}",
            original=product_set,
            product_set=product_set,
            form=form,
            built=built,
            summary=summary,
            back_url=reverse("admin:catalog_productset_change", args=[product_set.pk]),
        )
        return TemplateResponse(request, TEMPLATE, context)


def resolve_lines(text: str, variants: QuerySet[Variant]) -> tuple[list[wa.Section], list[str]]:
    """Sections of the variants the lines name, and the lines that named nothing (``variants`` is scoped)."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    for raw in text.splitlines()[:MAX_LINES]:
        line = raw.strip()
        if line.startswith("#"):
            sections.append((line.lstrip("#").strip(), []))
        elif line:
            sections[-1][1].extend(term.strip() for term in line.split(",") if term.strip())
    terms = [t for _, ts in sections for t in ts]
    numbers = [int(t) for t in terms if t.isdigit() and int(t) < 2**63]
    found = list(
        readiness.with_relations(
            variants.filter(
                Q(sku__in=terms)
                | Q(retailer_id__in=terms)
                | Q(shopify_variant_id__in=numbers)
                | Q(product__shopify_product_id__in=numbers)
            )
        ).order_by("product_id", "position", "pk")[: MAX_LINES * 5]
    )
    built, missing = [], []
    for title, section_terms in sections:
        chosen: list[Variant] = []
        for term in section_terms:
            matches = [
                v
                for v in found
                if term in (v.sku, v.retailer_id, str(v.shopify_variant_id), str(v.product.shopify_product_id))
            ]
            if not matches:
                missing.append(term)
            chosen += [v for v in matches if v not in chosen]
        if chosen or title:
            built.append(wa.Section(title, chosen))
    return built, missing


class ChosenProductsMessageMixin:
    """``product/whatsapp/``: a message from chosen products; a product's page pre-fills its variants."""

    def get_urls(self):
        return [admin_page(self, "whatsapp/", self.whatsapp_products_view, "whatsapp")] + super().get_urls()

    @any_tenant_view(get=Action.VIEW)
    def whatsapp_products_view(self, request: HttpRequest):
        tenants = allowed_tenants(request.user, Action.VIEW).order_by("name")
        data = request.GET.copy() if request.GET else None
        if data is not None and "product" in data:  # from a product's page: build with its variants at once
            data = self._product_page_data(request, data)
        form = ChosenProductsForm(data, tenants=tenants, initial={**CHOSEN_DEFAULTS, "tenant": tenants.first()})
        built, missing = None, []
        if form.is_bound and form.is_valid():
            built, missing = self._build(request, form, tenants)
        context = _context(
            self.admin_site,
            request,
            self.opts,
            title="WhatsApp message from chosen products",
            form=form,
            built=built,
            missing=missing,
            back_url=reverse("admin:catalog_product_changelist"),
        )
        return TemplateResponse(request, TEMPLATE, context)

    def _product_page_data(self, request: HttpRequest, data: QueryDict) -> QueryDict:
        ids = [int(p) for p in data.getlist("product") if p.isdigit()]
        products = scope_for_user(Product.objects.filter(pk__in=ids), request).select_related("tenant")
        variants = Variant.objects.filter(product__in=products).order_by("product_id", "position", "pk")
        retailer_ids = list(variants.values_list("retailer_id", flat=True)[: wa.MAX_ITEMS + 1])
        first = products.first()
        data = data.copy()
        data.setlist("product", [])
        for key, value in CHOSEN_DEFAULTS.items():
            data.setdefault(key, value)
        data["kind"] = wa.PRODUCT if len(retailer_ids) == 1 else wa.PRODUCT_LIST
        data["items"] = "\n".join(retailer_ids)
        data["tenant"] = first.tenant.slug if first else ""
        return data

    def _build(
        self, request: HttpRequest, form: ChosenProductsForm, tenants: QuerySet[Tenant]
    ) -> tuple[wa.Built, list[str]]:
        data = form.cleaned_data
        tenant = data["tenant"] or tenants.first()
        variants = scope_for_user(Variant.objects.filter(tenant=tenant), request)
        sections, missing = resolve_lines(data["items"], variants)
        to = data["to"] or None
        if data["kind"] == wa.PRODUCT_LIST and sections:
            sections = [wa.Section(s.title or data["section_title"], s.variants) for s in sections]
            return wa.product_list_message(
                sections, to=to, header=data["header"], body=data["body"], footer=data["footer"]
            ), missing
        chosen = [v for s in sections for v in s.variants]
        return wa.message_for_variants(
            chosen, to=to, kind=data["kind"], header=data["header"], body=data["body"], footer=data["footer"]
        ), missing
