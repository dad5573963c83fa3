"""The change list every tenant-scoped admin uses: Django's, with its per-row link built once per page.

Django reverses the change URL of every listed row (``ChangeList.url_for_result``): ~2 ms of
the ~48 ms of CPU of a 50-row variant list (bench/README.md, "Current table"). The URL
differs between rows only by the quoted primary key, so it is reversed once with a marker
in its place and the marker replaced per row.
"""

from __future__ import annotations

from urllib.parse import quote as url_quote

from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import RFC3986_SUBDELIMS

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
        # What reverse() does to an argument: the admin's quoting, then the URL's (django.urls.resolvers).
        pk = url_quote(str(quote(getattr(result, self.pk_attname))), safe=RFC3986_SUBDELIMS + "/~:@")
        return f"{head}{pk}{tail}"
