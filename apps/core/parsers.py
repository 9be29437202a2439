from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from apps.core.exceptions import PayloadTooLarge
from apps.core.strict_json import JSONBody


class StrictJSONParser(JSONParser):
    """JSON bodies, bounded in size (DRF reads the stream itself, past Django's own limit),
    with a clear message for malformed input."""

    def parse(self, stream, media_type=None, parser_context=None):
        from django.conf import settings

        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if stream is None:
            return {}
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        if not raw.strip():
            return {}
        import json

        try:
            data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError("Malformed JSON: the body could not be parsed.") from exc
        # Marked so serializers hold its values to their JSON types (apps.core.strict_json).
        return JSONBody(data) if isinstance(data, dict) else data


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")
