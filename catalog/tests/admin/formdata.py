"""Build the POST body an admin change form would send, from the GET response that showed it."""

from django.forms import BooleanField


def _put(data: dict, name: str, field, value) -> None:
    # BoundField.value() is already prepared for the widget (JSON as text, objects as pks).
    if isinstance(field, BooleanField):
        if value:
            data[name] = "on"
        return
    if value is None:
        value = ""
    data[name] = value


def changeform_data(response, **changes) -> dict:
    """The form's current values plus its inlines' (management forms included), then ``changes``."""
    data: dict = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        _put(data, name, field, form[name].value())
    for inline in response.context.get("inline_admin_formsets", []):
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[f"{formset.prefix}-{name}"] = management[name].value()
        for subform in formset.forms:
            for name, field in subform.fields.items():
                _put(data, subform.add_prefix(name), field, subform[name].value())
    data.update(changes)
    return data
