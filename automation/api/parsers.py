"""Request parsing for automation documents: JSON (DRF's, within the body limits) and YAML, each also within
the document limit (CHECKSTACK_MAX_DOCUMENT_BYTES), checked on the bytes before anything parses them."""

import io

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser

from foundation.request_bodies import BoundedJSONParser, check_depth, read_body

from ..documents.io import DocumentError, parse_document


class DocumentTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "document_too_large"

    def __init__(self, limit: int):
        super().__init__(f"The automation document is larger than {limit} bytes (CHECKSTACK_MAX_DOCUMENT_BYTES).")


def read_document(stream, parser_context) -> bytes:
    data = read_body(stream, parser_context)
    if len(data) > settings.CHECKSTACK_MAX_DOCUMENT_BYTES:
        raise DocumentTooLarge(settings.CHECKSTACK_MAX_DOCUMENT_BYTES)
    return data


class DocumentJSONParser(BoundedJSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return super().parse(io.BytesIO(read_document(stream, parser_context)), media_type, parser_context)


class YAMLParser(BaseParser):
    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            parsed = parse_document(read_document(stream, parser_context), format="yaml")
        except DocumentError as exc:
            raise ParseError({"errors": exc.errors}) from exc
        check_depth(parsed)
        return parsed


class TextYAMLParser(YAMLParser):
    media_type = "text/yaml"
