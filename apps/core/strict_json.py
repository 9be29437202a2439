"""JSON bodies are typed: a field takes exactly the JSON type the OpenAPI schema documents.

DRF's fields were made for HTML forms, where every value arrives as a string, so they coerce:
`0` becomes False, `"12"` becomes 12, `12` becomes "12", `"1"` matches the choice 1. Our bodies are
JSON (API.md; `apps.core.parsers`), which has types, and the schema promises them, so a body that
breaks the promise is a 400 instead of a guess. Schemathesis's `negative_data_rejection` check
(`tests/security/test_fuzz_schema.py`) holds us to it.

Only data that came from the JSON parser is held to this (the parser marks it `JSONBody`): query
strings and multipart uploads are strings by nature and keep DRF's coercion. A serializer given a
copy of `request.data` (a plain dict) is lenient again, so views pass `request.data` itself.
"""

from __future__ import annotations

from rest_framework import fields as drf
from rest_framework.settings import api_settings


class JSONBody(dict):
    """A JSON object body, as parsed: the mark that its values carry real JSON types."""


def _strict(field) -> bool:
    return isinstance(getattr(field.root, "initial_data", None), JSONBody)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _decimal_is_string(field) -> bool:
    coerce = getattr(field, "coerce_to_string", None)  # DRF sets it only when given
    return api_settings.COERCE_DECIMAL_TO_STRING if coerce is None else coerce


def _json_type(value) -> str:
    for kind, types in (("boolean", bool), ("integer", int), ("number", float), ("string", str)):
        if isinstance(value, types):
            return kind
    return "other"


def _choice_matches(field, data) -> bool:
    # DRF looks choices up by str(data); the JSON type must be the choice's own (1 is not "1", True is not 1).
    value = field.choice_strings_to_values.get(str(data))
    return value is not None and _json_type(value) == _json_type(data)


# field class -> (is the JSON value acceptable?, the DRF error key to fail with)
RULES = {
    drf.BooleanField: (lambda field, data: isinstance(data, bool), "invalid"),
    drf.CharField: (lambda field, data: isinstance(data, str), "invalid"),
    drf.IntegerField: (lambda field, data: isinstance(data, int) and not isinstance(data, bool), "invalid"),
    drf.FloatField: (lambda field, data: _is_number(data), "invalid"),
    drf.DecimalField: (
        lambda field, data: isinstance(data, str) if _decimal_is_string(field) else _is_number(data),
        "invalid",
    ),
    drf.ChoiceField: (_choice_matches, "invalid_choice"),
}


def _wrap(cls, accepts, error_key):
    original = cls.to_internal_value

    def to_internal_value(self, data):
        if _strict(self) and not (data == "" and getattr(self, "allow_blank", False)) and not accepts(self, data):
            if error_key == "invalid_choice":
                self.fail(error_key, input=data)
            self.fail(error_key)
        return original(self, data)

    to_internal_value.strict_json = True
    cls.to_internal_value = to_internal_value


def install() -> None:
    """Called once from CoreConfig.ready()."""
    for cls, (accepts, error_key) in RULES.items():
        if not getattr(cls.to_internal_value, "strict_json", False):
            _wrap(cls, accepts, error_key)
