"""Request parsing for automation documents: JSON (DRF's own) and YAML."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from ..documents.io import DocumentError, parse_document


class YAMLParser(BaseParser):
    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return parse_document(stream.read(), format="yaml")
        except DocumentError as exc:
            raise ParseError({"errors": exc.errors}) from exc


class TextYAMLParser(YAMLParser):
    media_type = "text/yaml"
