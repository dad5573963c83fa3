"""Admin template tags: the index section a model's pages belong to (for their breadcrumbs)."""

from django import template
from django.db.models.options import Options
from django.urls import reverse

from galantis.admin_site import section_of

register = template.Library()


@register.simple_tag
def admin_section(opts: Options) -> dict | None:
    """``{"name", "url"}`` of the index section listing ``opts``'s model, or None (the app's own page then)."""
    section = section_of(opts.app_label, opts.model_name)
    if section is None:
        return None
    return {"name": section.name, "url": reverse("admin:section", kwargs={"key": section.key})}
