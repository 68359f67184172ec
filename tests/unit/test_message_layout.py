"""The laid-out notice's marks read back into blocks (messaging/layout.py): the one reader the
printed letter and the HTML email share."""

from __future__ import annotations

import pytest

from portal.messaging.layout import Block, blocks


@pytest.mark.parametrize(("text", "expected"), [
    ("# Validation notice", [Block("heading", "Validation notice")]),
    ("As of 1 May:\t$10.00\nNow:\t$12.00",
     [Block("table", rows=(("As of 1 May:", "$10.00"), ("Now:", "$12.00")))]),
    ("[ ] This is not my debt.\n[ ] The amount is wrong.",
     [Block("checks", rows=(("This is not my debt.", ""), ("The amount is wrong.", "")))]),
    ("A paragraph\nover two lines", [Block("text", "A paragraph\nover two lines")]),
    # A block that is only partly a table or tick boxes is a paragraph, as written.
    ("Total:\t$1\nno tab here", [Block("text", "Total:\t$1\nno tab here")]),
    ("[ ] one\nnot a box", [Block("text", "[ ] one\nnot a box")]),
    ("#nospace", [Block("text", "#nospace")]),
    ("# A\n\nB\n\n\n\n[ ] C", [Block("heading", "A"), Block("text", "B"),
                               Block("checks", rows=(("C", ""),))]),
])
def test_blocks(text, expected):
    assert blocks(text) == expected
