"""Forms of the WhatsApp Connection page. The token field never renders its value back."""

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.models import Catalog, ShopifyStore, Tenant


class TokenForm(forms.Form):
    business_id = forms.RegexField(
        regex=r"^\d{1,30}$",
        required=False,
        label=_("Meta business id"),
        help_text=_("Business settings → Business info. Leave blank to keep the current one."),
        error_messages={"invalid": _("A Meta business id is a number.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    access_token = forms.CharField(
        label=_("Catalog access token"),
        strip=True,
        max_length=1000,
        help_text=_(
            "A system-user token with the catalog_management permission (Business settings → System users "
            "→ Generate token). It is checked with Meta, stored encrypted and never shown again."
        ),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class StoreChoiceMixin(forms.Form):
    store = forms.ModelChoiceField(queryset=ShopifyStore.objects.none(), empty_label=None, label=_("Shopify store"))

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = ShopifyStore.objects.for_tenant(tenant).order_by("shop_domain")


class ChooseCatalogForm(StoreChoiceMixin):
    flow = forms.ChoiceField(
        choices=[
            (Catalog.Flow.IMPORT, Catalog.Flow.IMPORT.label),
            (Catalog.Flow.LINK, Catalog.Flow.LINK.label),
            (Catalog.Flow.CREATE, Catalog.Flow.CREATE.label),
        ],
        widget=forms.RadioSelect,
        initial=Catalog.Flow.IMPORT,
    )
    catalog_id = forms.RegexField(
        regex=r"^\d{1,30}$",
        required=False,
        label=_("Catalog"),
        error_messages={"invalid": _("Choose a catalog from the list.")},
    )
    create_name = forms.CharField(max_length=200, required=False, label=_("New catalog name"))
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("flow") in (Catalog.Flow.IMPORT, Catalog.Flow.LINK) and not data.get("catalog_id"):
            self.add_error("catalog_id", _("Choose the catalog to import or link."))
        return data

    def flow_arguments(self) -> dict:
        """The valid choice as ``flows.choose_catalog``'s keyword arguments (both the page and the admin send it)."""
        data = self.cleaned_data
        return {
            "flow": data["flow"],
            "catalog_id": data.get("catalog_id") or "",
            "create_name": data.get("create_name") or "",
            "confirmed": data.get("confirm", False),
        }


class ApplyReportForm(forms.Form):
    confirm = forms.BooleanField(
        required=True,
        label=_(
            "I have reviewed this report. From now on Galantis is the source of truth for this catalog: "
            "Shopify data overwrites the differences above."
        ),
    )
    delete_unmatched = forms.BooleanField(
        required=False,
        label=_(
            "Also delete the Meta items that have no Shopify variant (recorded with your name; "
            "leave unticked to keep them)."
        ),
    )


class PixelForm(forms.Form):
    pixel_id = forms.RegexField(
        regex=r"^\d{5,30}$",
        label=_("Meta Pixel id"),
        help_text=_("Events Manager → Data sources → your pixel → Settings."),
        error_messages={"invalid": _("A pixel id is a number.")},
    )
