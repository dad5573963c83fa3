"""The change list every tenant-scoped admin uses: Django's, with its rows rendered once per page.

Django reverses the change URL of every listed row (``ChangeList.url_for_result``): ~2 ms of
the ~48 ms of CPU of a 50-row variant list (bench/README.md, "Current table"). The URL
differs between rows only by the quoted primary key, so it is reversed once with a marker
in its place and the marker replaced per row.

Django's ``items_for_result`` then decides, for every cell of every row, what the column
is (a model field or not, by a raised ``FieldDoesNotExist`` for each method column), whether
it links, its classes and the link's preserved filters, and the template renders each
cell on its own: about 40% of the page. :meth:`TenantChangeList.rendered_rows` decides
those once per column and renders each row as one string, with the same HTML.
"""

from __future__ import annotations

import datetime
from urllib.parse import quote as url_quote

from django.contrib.admin.templatetags.admin_list import ResultList
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import display_for_field, display_for_value, lookup_field, quote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.functional import cached_property
from django.utils.html import conditional_escape, escape
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import mark_safe

# Stands for the row's quoted pk in the reversed URL: no quoted pk can contain it
# (``quote`` escapes "_" as "_5F").
PK_MARKER = "__galantis_pk__"


class TenantChangeList(ChangeList):
    """Django's change list with the row links of one page built from one ``reverse()``."""

    @cached_property
    def _change_url_parts(self) -> tuple[str, str] | None:
        url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
            args=(PK_MARKER,),
            current_app=self.model_admin.admin_site.name,
        )
        head, marker, tail = url.partition(PK_MARKER)
        # None: a URL conf that rewrites its arguments, reversed per row as Django does.
        return (head, tail) if marker else None

    def url_for_result(self, result) -> str:
        if self._change_url_parts is None:
            return super().url_for_result(result)
        head, tail = self._change_url_parts
        return f"{head}{self._quoted_pk(result)}{tail}"

    def _quoted_pk(self, result) -> str:
        """What reverse() does to an argument: the admin's quoting, then the URL's (django.urls.resolvers)."""
        return url_quote(str(quote(getattr(result, self.pk_attname))), safe=RFC3986_SUBDELIMS + "/~:@")

    def rendered_rows(self) -> list[ResultList] | None:
        """This page's rows, each a ``ResultList`` holding the row's cells as one HTML string.

        The HTML of Django's ``items_for_result``, with what is the same for every row (what
        each column is, whether it links, the link's preserved filters) decided once. None
        where Django renders the rows itself: an editable list (its forms), a popup (its
        opener attribute), a model without a change URL.
        """
        if self.formset or self.is_popup:
            return None
        try:
            parts = self._change_url_parts
        except NoReverseMatch:
            return None
        if parts is None:
            return None
        head, marker, tail = add_preserved_filters(
            {"preserved_filters": self.preserved_filters, "opts": self.opts}, PK_MARKER.join(parts)
        ).partition(PK_MARKER)
        if not marker:
            return None
        link = (conditional_escape(head), conditional_escape(tail))
        cells = self._cells(link)
        return [ResultList(None, [mark_safe("".join([cell(row) for cell in cells]))]) for row in self.result_list]

    def _cells(self, link: tuple[str, str]) -> list:
        """One function per column rendering its cell of a row; links and ``th`` as Django places them."""
        links, first = self.list_display_links, True
        cells = []
        for index, name in enumerate(self.list_display):
            linked = links is not None and ((first and not links) or name in links)
            tag = "th" if linked and first else "td"
            first = first and not linked
            cells.append(self._cell(name, index, tag, link if linked else None))
        return cells

    def _cell(self, name, index: int, tag: str, link: tuple[str, str] | None):
        admin = self.model_admin
        empty = admin.get_empty_value_display()
        column = (f"lambda{index}" if name.__name__ == "<lambda>" else name.__name__) if callable(name) else name
        css = "action-checkbox" if name == "action_checkbox" else f"field-{column}"
        method = None
        if not self._is_model_field(name):
            if callable(name):
                method = name
            elif name != "__str__" and hasattr(admin, name):
                method = getattr(admin, name)

        def cell(row) -> str:
            try:
                if method is not None:  # what lookup_field does for these, without its FieldDoesNotExist
                    field, attr, value = None, method, method(row)
                else:
                    field, attr, value = lookup_field(name, row, admin)
            except ObjectDoesNotExist:
                shown, classes = empty, css
            else:
                shown, classes = self._shown(row, field, attr, value, css, empty, link is not None)
            if link is None:
                return f'<{tag} class="{classes}">{conditional_escape(shown)}</{tag}>'
            url = f"{link[0]}{escape(self._quoted_pk(row))}{link[1]}"  # escaped as format_html escapes it
            return f'<{tag} class="{classes}"><a href="{url}">{conditional_escape(shown)}</a></{tag}>'

        return cell

    def _is_model_field(self, name) -> bool:
        """Whether ``lookup_field`` reads ``name`` as a model field (Django's ``_get_non_gfk_field``)."""
        if callable(name):
            return False
        try:
            field = self.lookup_opts.get_field(name)
        except FieldDoesNotExist:
            return False
        if field.is_relation and ((field.many_to_one and not field.related_model) or field.one_to_many):
            return False  # a generic foreign key or a reverse relation
        # A foreign key's column name (``tenant_id``) is read as an attribute.
        return not (field.is_relation and not field.many_to_many and getattr(field, "attname", None) == name)

    @staticmethod
    def _shown(row, field, attr, value, classes: str, empty: str, linked: bool):
        """What a cell shows and its classes (``items_for_result``, after ``lookup_field``)."""
        empty = getattr(attr, "empty_value_display", empty)
        if isinstance(value, str) and value.strip() == "":
            value = ""
        if field is None or field.auto_created:
            boolean = getattr(attr, "boolean", False)
            if isinstance(attr, property) and hasattr(attr, "fget"):
                boolean = getattr(attr.fget, "boolean", False)
            if isinstance(value, (datetime.date, datetime.time)):
                classes += " nowrap"
            return display_for_value(value, empty, boolean), classes
        if isinstance(field.remote_field, models.ManyToOneRel):
            related = getattr(row, field.name)
            shown = empty if related is None else related
        else:
            shown = display_for_field(value, field, empty, avoid_link=linked)
        if isinstance(field, (models.DateField, models.TimeField, models.ForeignKey)):
            classes += " nowrap"
        return shown, classes
