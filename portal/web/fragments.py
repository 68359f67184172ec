"""One rule for when a view answers with a fragment instead of its whole page."""

from __future__ import annotations

from flask import after_this_request

from portal.extensions import htmx

#: The request headers that choose between a fragment and its page.
CHOOSING_HEADERS = ("HX-Request", "HX-Target", "HX-Boosted")


def wants_fragment(target_id: str) -> bool:
    """Only htmx swapping that one element gets the fragment: a boosted link or form (even one
    under an inherited `hx-target`), a history restore and a plain request get the whole page."""
    after_this_request(_vary_on_choice)
    return bool(htmx) and not htmx.boosted and htmx.target == target_id


def _vary_on_choice(response):
    """A cache must not hand the fragment to a page load, nor the page to a swap."""
    response.vary.update(CHOOSING_HEADERS)
    return response
