"""Request parsing for automation documents: JSON (DRF's, within the body limits) and YAML."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from foundation.request_bodies import check_depth, read_body

from ..documents.io import DocumentError, parse_document


class YAMLParser(BaseParser):
    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            parsed = parse_document(read_body(stream, parser_context), format="yaml")
        except DocumentError as exc:
            raise ParseError({"errors": exc.errors}) from exc
        check_depth(parsed)
        return parsed


class TextYAMLParser(YAMLParser):
    media_type = "text/yaml"
