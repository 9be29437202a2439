"""Query filters of list endpoints, declared once as django-filter `FilterSet`s.

A list view names its filter set (`filterset_class`, in its app's `api/filters.py`) and mixes in
`FilteredView`. From that one declaration come:
- validation: a bad value is a 400 `validation_error` whose `details` name the field;
- the OpenAPI parameters (drf-spectacular's django-filter extension reads `filterset_class`);
- the filtering itself, either `filter_queryset(qs)` on the selector's queryset, or the cleaned
  values (`filter_values()`) handed to the selector that owns the rule.

What a viewer may see is never a filter: the selector is called with the viewer first and decides
that; a filter set only narrows what the selector returned. Keyset pagination stays ours
(`apps.core.pagination`).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django import forms
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from apps.core.exceptions import ValidationFailed


class _StrictBooleanField(forms.Field):
    def to_python(self, value: Any) -> bool | None:
        raw = str(value).strip().lower() if value is not None else ""
        if raw == "":
            return None
        if raw in ("true", "1", "yes"):
            return True
        if raw in ("false", "0", "no"):
            return False
        raise forms.ValidationError("Must be true or false.")


class _UtcDateTimeField(IsoDateTimeField):
    def to_python(self, value: Any):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            # Any offset the caller wrote (+23:33 included) becomes UTC before it reaches SQL.
            return parsed.astimezone(dt.UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError("Out of range.") from None


@extend_schema_field(OpenApiTypes.DATETIME)
class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 time (UTC if no offset), converted to UTC."""

    field_class = _UtcDateTimeField


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(filters.NumberFilter):
    """A whole number (an id): `5.5` is a 400, not 5."""

    field_class = forms.IntegerField


class StrictBooleanFilter(filters.BooleanFilter):
    """true/false (1/0, yes/no); anything else is a 400, never silently "no filter"."""

    field_class = _StrictBooleanField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput)  # the raw text reaches the field, which judges it
        super().__init__(*args, **kwargs)


@functools.cache
def _form_fields(filterset_class: type[filters.FilterSet]) -> dict[str, forms.Field]:
    """The form fields of a filter set's filters (none of ours depends on the request)."""
    form_class = filterset_class(queryset=filterset_class._meta.model._default_manager.none()).get_form_class()
    return dict(form_class.base_fields)


def _invalid(errors) -> ValidationFailed:
    """A 400 naming each invalid filter (`errors`: a filter set's, or name -> messages)."""
    details = {name: [str(m) for m in messages] for name, messages in errors.items()}
    names = ", ".join(sorted(details))
    return ValidationFailed(f"Invalid filter: {names}.", details=details)


class FilteredView:
    """Mixin for an APIView whose GET has query filters. `filter_backends` and a `queryset` of the
    filter set's model let drf-spectacular document every filter from the filter set."""

    filter_backends = [filters.DjangoFilterBackend]
    filterset_class: type[filters.FilterSet]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        filterset = getattr(cls, "filterset_class", None)
        if filterset is not None and getattr(cls, "queryset", None) is None:
            cls.queryset = filterset._meta.model._default_manager.none()  # for the schema generator only

    def _filterset(self, queryset=None) -> filters.FilterSet:
        model = self.filterset_class._meta.model
        filterset = self.filterset_class(
            data=self.request.query_params,
            queryset=queryset if queryset is not None else model._default_manager.none(),
            request=self.request,
        )
        if not filterset.is_valid():
            raise _invalid(filterset.errors)
        return filterset

    def filter_values(self) -> dict[str, Any]:
        """The filters the caller gave, validated and converted (absent ones are left out). Each
        given value goes through its filter's form field, as the filter set's form would clean it;
        the fields are built once per filter set: django-filter builds a form class and copies
        every filter and field on each request, which cost more than a feed page's query."""
        given = self.request.query_params
        values: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for name, field in _form_fields(self.filterset_class).items():
            if name not in given:
                continue
            try:
                value = field.clean(field.widget.value_from_datadict(given, {}, name))
            except forms.ValidationError as error:
                errors[name] = error.messages
                continue
            if value is not None and value != "":
                values[name] = value
        if errors:
            raise _invalid(errors)
        return values

    def filter_queryset(self, queryset):
        """The selector's queryset narrowed by the filters given."""
        return self._filterset(queryset).qs
