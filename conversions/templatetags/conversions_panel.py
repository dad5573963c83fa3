"""``{% conversions_panel tenant catalog catalogs %}``: the Conversions API card of the health page."""

from django import template

from .. import health

register = template.Library()


@register.inclusion_tag("conversions/health_panel.html")
def conversions_panel(tenant, catalog=None, catalogs=None) -> dict:
    """``catalogs``: the tenant's catalogs when the page has them already (saves a query)."""
    return {"panel": health.summarise(tenant, catalog, catalogs=catalogs), "tenant": tenant}
