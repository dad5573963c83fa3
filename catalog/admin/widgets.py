"""Form fields for the JSON columns staff edit: Shopify tags and variant options, never raw JSON."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


class TagListField(forms.CharField):
    """Shopify tags as the comma-separated line Shopify's own admin shows; stored as a JSON list."""

    widget = forms.TextInput(attrs={"class": "vLargeTextField", "placeholder": "summer, cotton, sale"})

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Comma-separated, as in Shopify.")
        super().__init__(**kwargs)

    def prepare_value(self, value: object) -> object:
        if isinstance(value, list | tuple):
            return ", ".join(str(tag) for tag in value)
        return value

    def to_python(self, value: object) -> list[str]:
        if isinstance(value, list):
            return value
        text = super().to_python(value)
        seen: list[str] = []
        for tag in (part.strip() for part in text.split(",")):
            if tag and tag not in seen:
                seen.append(tag)
        return seen


class OptionsField(forms.CharField):
    """A variant's options, one ``Name: value`` a line (``Size: M``); stored as a JSON object."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 40, "placeholder": "Size: M\nColor: Blue"})

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "One option a line: name, a colon, the value (Size: M).")
        super().__init__(**kwargs)

    def prepare_value(self, value: object) -> object:
        if isinstance(value, dict):
            return "\n".join(f"{name}: {choice}" for name, choice in value.items())
        return value

    def to_python(self, value: object) -> dict[str, str]:
        if isinstance(value, dict):
            return value
        options: dict[str, str] = {}
        for number, line in enumerate(super().to_python(value).splitlines(), 1):
            if not line.strip():
                continue
            name, colon, choice = line.partition(":")
            if not colon or not name.strip() or not choice.strip():
                raise ValidationError(f"Line {number}: write the option as “Name: value”.", code="invalid")
            options[name.strip()] = choice.strip()
        return options


class JsonColumnsMixin:
    """Admin mixin: ``tags`` and ``options`` JSON columns get the fields above."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "tags":
            return TagListField(label=db_field.verbose_name.capitalize())
        if db_field.name == "options":
            return OptionsField(label=db_field.verbose_name.capitalize())
        return super().formfield_for_dbfield(db_field, request, **kwargs)
