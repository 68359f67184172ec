"""Citations checked against the primary sources (issue 12's compliance review)."""

from __future__ import annotations

from portal.contact.rulebook import RULES


def test_the_uk_dispute_hold_cites_the_suspension_rule_first():
    # CONC 7.14.1R suspends recovery of a disputed debt; 7.14.3R is the duty to investigate.
    citation = RULES["uk.dispute"].citation
    assert citation.startswith("FCA CONC 7.14.1R")
    assert "7.14.3R" in citation
