"""Admin template tags: the index section a model's pages belong to (for their breadcrumbs), and
the change list's rows rendered once per page (catalog.admin.changelist)."""

from django import template
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.db.models.options import Options
from django.urls import reverse

from catalog.admin.changelist import TenantChangeList
from galantis.admin_site import section_of

register = template.Library()


@register.simple_tag
def admin_section(opts: Options) -> dict | None:
    """``{"name", "url"}`` of the index section listing ``opts``'s model, or None (the app's own page then)."""
    section = section_of(opts.app_label, opts.model_name)
    if section is None:
        return None
    return {"name": section.name, "url": reverse("admin:section", kwargs={"key": section.key})}


def result_list(cl) -> dict:
    """Django's ``result_list`` context, with the rows of a :class:`TenantChangeList` rendered by it."""
    rows = cl.rendered_rows() if isinstance(cl, TenantChangeList) else None
    if rows is None:
        return admin_list.result_list(cl)
    headers = list(admin_list.result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": [],  # hidden fields are an editable list's, which Django renders
        "result_headers": headers,
        "num_sorted_fields": sum(1 for header in headers if header["sortable"] and header["sorted"]),
        "results": rows,
    }


@register.tag(name="galantis_result_list")
def result_list_tag(parser, token):
    """``{% galantis_result_list cl %}``: Django's ``{% result_list cl %}`` (same templates), faster rows."""
    return InclusionAdminNode(
        parser, token, func=result_list, template_name="change_list_results.html", takes_context=False
    )
