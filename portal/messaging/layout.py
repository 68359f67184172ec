"""How a laid-out notice's text marks its form (a heading, an itemization table, tick boxes),
read back into blocks: the one reader the printed letter and the HTML email share. Pure.

The marks are those `notices.wording.as_text` writes: blocks are separated by blank lines;
"# " starts a heading; a block whose every line is "label TAB amount" is a table (its last row
the total); a block whose every line starts "[ ] " is a list of tick boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The message kinds whose text carries these marks (the first letters of issue 14).
LAID_OUT = frozenset({"validation_notice", "first_letter_gb", "first_letter_cn"})


@dataclass(frozen=True)
class Block:
    #: heading | table | checks | text
    kind: str
    text: str = ""
    #: A table's (label, amount) rows, or the tick boxes' items (amount empty).
    rows: tuple[tuple[str, str], ...] = ()


def blocks(text: str) -> list[Block]:
    """The text's blocks, in order; anything unmarked is a paragraph (its line breaks kept)."""
    out = []
    for paragraph in text.split("\n\n"):
        lines = paragraph.splitlines()
        if not lines:
            continue
        if paragraph.startswith("# "):
            out.append(Block("heading", paragraph[2:]))
        elif all("\t" in line for line in lines):
            out.append(Block("table", rows=tuple(
                tuple(line.split("\t", 1)) for line in lines)))  # type: ignore[misc]
        elif all(line.startswith("[ ] ") for line in lines):
            out.append(Block("checks", rows=tuple((line[4:], "") for line in lines)))
        else:
            out.append(Block("text", paragraph))
    return out
