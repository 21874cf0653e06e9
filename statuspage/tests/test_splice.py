"""Markup spliced into a rendered page as bytes: in its place, in order, once; a marker left out costs nothing."""

from html import escape

from django.http import HttpResponse

from statuspage.splice import Splice


def test_each_marker_is_replaced_by_its_markup_and_a_marker_the_page_left_out_is_skipped():
    splice = Splice()
    first, skipped, last = splice.mark("<li>é</li>"), splice.mark("<li>never</li>"), splice.mark("<li>b</li>")
    response = HttpResponse(f"<ul>{first}</ul> – <ul>{last}</ul>")

    assert splice.fill(response).content.decode() == "<ul><li>é</li></ul> – <ul><li>b</li></ul>"
    assert str(skipped) not in response.content.decode()


def test_escaped_text_cannot_pose_as_a_marker():
    splice = Splice()
    marker = splice.mark("<li>x</li>")
    response = HttpResponse(f"{escape(str(marker))} {marker}")

    assert splice.fill(response).content.decode() == f"{escape(str(marker))} <li>x</li>"
