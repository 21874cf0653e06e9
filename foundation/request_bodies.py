"""Request bodies read within limits: at most `CHECKSTACK_MAX_BODY_BYTES` (413 beyond, before parsing) and
nested at most MAX_DEPTH deep (400). DRF reads `request.stream` itself, so Django's
DATA_UPLOAD_MAX_MEMORY_SIZE never applies to JSON or YAML bodies; these parsers are where the limit lives."""

import io

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 100  # levels of nesting a body may have; deeper ones would exhaust recursion in later readers


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"

    def __init__(self, limit: int):
        super().__init__(f"The request body is larger than {limit} bytes.")


def read_body(stream, parser_context: dict | None) -> bytes:
    """The body's bytes, at most the limit: a declared length over it is refused without reading, and a
    body with no length (chunked) is read one byte past the limit at most."""
    limit = settings.CHECKSTACK_MAX_BODY_BYTES
    request = (parser_context or {}).get("request")
    declared = request.META.get("CONTENT_LENGTH") if request is not None else None
    if declared and str(declared).isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    data = stream.read(limit + 1) if stream is not None else b""
    if len(data) > limit:
        raise BodyTooLarge(limit)
    return data


def nesting_depth(value, limit: int = MAX_DEPTH) -> int:
    """Depth of a parsed body's lists and mappings, counted without recursion and only until past `limit`."""
    deepest, pending = 0, [(value, 1)]
    while pending and deepest <= limit:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children)
    return deepest


def check_depth(value) -> None:
    if nesting_depth(value) > MAX_DEPTH:
        raise ParseError(f"The request body is nested more than {MAX_DEPTH} levels deep.")


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser within the body limits."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = read_body(stream, parser_context)
        try:
            parsed = super().parse(io.BytesIO(data), media_type, parser_context)
        except RecursionError:  # the decoder recurses per level: 100,000 opening brackets end here
            raise ParseError(f"The request body is nested more than {MAX_DEPTH} levels deep.") from None
        check_depth(parsed)
        return parsed
