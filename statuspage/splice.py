"""Put large, already escaped markup into a rendered page as bytes, past Django's template engine.

A 500-system page's entries are 1.5 MB of markup built in Python (items.py). Passed through the template, every
level of it (the loop, the block, the base template) joins its output into a new string and copies it again into
a SafeString, and the en dash elsewhere on the page widens the whole string to two bytes a character: about
ten copies of 1.5 to 3 MB, 10 ms of a 40 ms render. The template gets a marker instead, and the response's
bytes get the markup, encoded once.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.safestring import SafeString, mark_safe


class Splice:
    """Markers for a template, and the markup to put in their place once the template is rendered."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def mark(self, html: str) -> SafeString:
        """A marker the template outputs where `html` (escaped already: it goes in as it is) belongs.

        Escaped text can never contain a marker: its "<" became "&lt;".
        """
        self.parts.append(html)
        return mark_safe(self._marker(len(self.parts) - 1).decode())

    @staticmethod
    def _marker(n: int) -> bytes:
        return f"<!--splice:{n}-->".encode()

    def fill(self, response: HttpResponse) -> HttpResponse:
        """Replace each marker in the rendered response by its markup (a marker the template left out: none)."""
        content, out, position = response.content, [], 0
        for n, html in enumerate(self.parts):
            marker = self._marker(n)
            found = content.find(marker, position)
            if found < 0:
                continue
            out += [content[position:found], html.encode(response.charset)]
            position = found + len(marker)
        out.append(content[position:])
        response.content = b"".join(out)
        return response
