"""The API's JSON parser: DRF's, refusing what the database could not store."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .json_text import nul_character_path


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        path = nul_character_path(data)
        if path is not None:
            # Serializer fields catch this for plain strings, but not inside JSON fields (payloads,
            # documents), where PostgreSQL would otherwise fail the insert with a 500.
            raise ParseError(f"JSON parse error - the NUL character (\\u0000) is not allowed (at '{path or '$'}').")
        return data
