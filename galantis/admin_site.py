"""The Galantis admin site: header, and an index grouped by the tenant workflow.

Django lists apps alphabetically; staff think in steps instead (who has access,
which Shopify store, which Meta catalog, which products, how the sync went), so the
index and the sidebar show one section per step. Other apps add their models by
extending ``ADMIN_SECTIONS``; a model no section names keeps its app's own group,
after the sections. A section may also list custom admin pages (:class:`Page`), shown
to whoever sees the model whose admin serves them, with a count badge on the index.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.module_loading import import_string


class Page:
    """A custom admin page listed in a section, after the model whose admin serves it."""

    def __init__(self, name: str, url_name: str, model: str, count: str | None = None) -> None:
        self.name = name
        # The URL name without "admin:" (e.g. "catalog_syncbatch_deadletters").
        self.url_name = url_name
        # "app_label.model_name": the page is listed where, and for whom, that model is.
        self.model = model
        # Dotted path of ``f(request) -> int``: the badge beside the link on the index
        # (not in the sidebar, which every admin page draws).
        self.count = count


class Section:
    """One group on the admin index: a key (URL and CSS), a title, a hint, the models it lists."""

    def __init__(
        self, key: str, name: str, description: str, models: list[str], pages: list[Page] | None = None
    ) -> None:
        self.key = key
        self.name = name
        self.description = description
        # "app_label.model_name", or "app_label.*" for every model of an app.
        self.models = models
        self.pages = pages or []

    def position_of(self, app_label: str, model_name: str) -> int | None:
        """Where the model sits in this section, or None when it does not belong here."""
        for position, pattern in enumerate(self.models):
            label, _, name = pattern.partition(".")
            if label == app_label and name in ("*", model_name):
                return position
        return None


ADMIN_SECTIONS: list[Section] = [
    Section(
        "tenants",
        "Tenants & access",
        "Merchants, and who may work on them.",
        ["catalog.tenant", "catalog.membership", "auth.user", "auth.group"],
    ),
    Section(
        "shopify",
        "Shopify",
        "The stores products come from, their imports and the webhooks they send.",
        ["catalog.shopifystore", "catalog.importrun", "catalog.webhookevent"],
    ),
    Section(
        "meta",
        "Meta catalog",
        "Meta tokens, the catalogs products go to, and product sets.",
        [
            "catalog.metaconnection",
            "catalog.catalog",
            "catalog.productset",
            "catalog.reconciliationreport",
            "catalog.metaitemdeletion",
        ],
    ),
    Section(
        "products",
        "Products",
        "Shopify products and variants with their Meta status.",
        ["catalog.product", "catalog.variant"],
    ),
    Section(
        "sync",
        "Sync",
        "Batches sent to Meta, the task queue behind them, and the work that failed for good.",
        ["catalog.syncbatch", "django_q.*"],
        pages=[
            Page(
                "Dead letters",
                "catalog_syncbatch_deadletters",
                "catalog.syncbatch",
                count="catalog.admin.dead_letters.dead_letter_count",
            ),
        ],
    ),
    Section("diagnostics", "Diagnostics", "Meta's findings about items and catalogs.", ["diagnostics.*"]),
    Section(
        "conversions",
        "Conversions API",
        "Paid orders sent to the catalog's pixel as Purchase events, and each tenant's settings.",
        ["conversions.conversionevent", "conversions.conversionssettings"],
    ),
]


def section_of(app_label: str, model_name: str) -> Section | None:
    """The index section that lists the model (what its pages' breadcrumbs name), if any."""
    for section in ADMIN_SECTIONS:
        if section.position_of(app_label, model_name) is not None:
            return section
    return None


class GalantisAdminSite(admin.AdminSite):
    site_header = "Galantis catalog sync"
    site_title = "Galantis"
    index_title = "Shopify → Meta catalog operations"
    index_template = "admin/galantis_index.html"
    # "View site" opens what the merchant sees, not the admin again (the root redirects there).
    site_url = "/health/"

    def get_urls(self):
        return [
            path("section/<slug:key>/", self.admin_view(self.section_index), name="section"),
        ] + super().get_urls()

    def index(self, request, extra_context=None):
        from catalog.admin.dashboard import tenant_overview  # the catalog app owns the numbers
        from catalog.admin.meta_connections import token_warnings  # the catalog app owns token health

        return super().index(
            request,
            {
                "tenant_overview": tenant_overview(request),
                "token_warnings": token_warnings(request),
                "app_list": self._with_page_counts(request, self.get_app_list(request)),
                **(extra_context or {}),
            },
        )

    def _with_page_counts(self, request, app_list: list[dict]) -> list[dict]:
        """The index's sections with each custom page's count (its badge)."""
        for app in app_list:
            for entry in app["models"]:
                if entry.get("count_of"):
                    entry["badge"] = import_string(entry["count_of"])(request)
        return app_list

    def get_app_list(self, request, app_label=None):
        """Sections in workflow order; an app's own page (``app_label``) keeps Django's list."""
        if app_label:
            return super().get_app_list(request, app_label)
        return self._sections(request)

    def _sections(self, request) -> list[dict]:
        apps = super().get_app_list(request)
        grouped: dict[str, list[tuple[int, dict]]] = {section.key: [] for section in ADMIN_SECTIONS}
        leftover_apps = []
        for app in apps:
            rest = []
            for model in app["models"]:
                opts = model["model"]._meta
                for section in ADMIN_SECTIONS:
                    position = section.position_of(opts.app_label, opts.model_name)
                    if position is not None:
                        grouped[section.key].append((position, model))
                        break
                else:
                    rest.append(model)
            if rest:
                leftover_apps.append({**app, "models": rest})
        sections = []
        for section in ADMIN_SECTIONS:
            models = [model for _, model in sorted(grouped[section.key], key=lambda pm: (pm[0], pm[1]["name"]))]
            models = self._with_pages(section, models)
            if models:
                sections.append(
                    {
                        "name": section.name,
                        "description": section.description,
                        "app_label": f"section-{section.key}",
                        "app_url": reverse("admin:section", kwargs={"key": section.key}, current_app=self.name),
                        "has_module_perms": True,
                        "models": models,
                    }
                )
        return sections + leftover_apps

    def _with_pages(self, section: Section, models: list[dict]) -> list[dict]:
        """``models`` with the section's pages, each after the model whose admin serves it (if listed)."""
        for page in section.pages:
            for position, model in enumerate(models):
                if "model" in model and model["model"]._meta.label_lower == page.model:
                    models.insert(
                        position + 1,
                        {
                            "name": page.name,
                            "object_name": page.url_name,
                            "admin_url": reverse(f"admin:{page.url_name}", current_app=self.name),
                            "add_url": None,
                            "view_only": True,
                            "perms": {"view": True},
                            "count_of": page.count,
                        },
                    )
                    break
        return models

    def section_index(self, request, key: str):
        """One section on its own page (what a section title links to)."""
        sections = [s for s in self._sections(request) if s["app_label"] == f"section-{key}"]
        if not sections:
            raise Http404("The requested admin page does not exist.")
        context = {
            **self.each_context(request),
            "title": sections[0]["name"],
            "subtitle": None,
            "app_list": sections,
            "app_label": sections[0]["app_label"],
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/app_index.html", context)


class GalantisAdminConfig(AdminConfig):
    """``django.contrib.admin`` with :class:`GalantisAdminSite` as ``admin.site``."""

    default_site = "galantis.admin_site.GalantisAdminSite"
