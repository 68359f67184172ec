"""Each borrower reads their own jurisdiction's rights, each with its source: the US validation
and dispute rights, the UK's free debt advice, breathing space and Financial Ombudsman, China's
way to complain and the agency's mandate."""

from __future__ import annotations

import pytest

from portal.accounts.rights import rights_for

#: What each jurisdiction's list must cite (sources and links), and what belongs to another's.
MUST_CITE = {
    # The statute and Regulation F's own paragraph for each: the validation period (1006.34(b)(5)),
    # collection stopped until verification (1006.38(d)(2)) or the original creditor's name
    # (1006.38(c)), cease (1006.6(c)) and opting out of a channel (1006.6(e), 1006.14(h)).
    "US": ["15 U.S.C. 1692g(b)", "1006.34(b)(5)", "1006.38(d)(2)", "15 U.S.C. 1692g(a)(5)",
           "1006.38(c)", "1692c(c)", "1006.6(c), (e)", "1006.14(h)", "consumerfinance.gov"],
    "GB": ["moneyhelper.org.uk", "legislation.gov.uk/uksi/2020/1311", "financial-ombudsman.org.uk"],
    "CN": ["GB/T 45251-2025", "nfra.gov.cn"],
}


@pytest.mark.parametrize("country", sorted(MUST_CITE))
def test_each_jurisdiction_cites_its_own_sources_only(app, country):
    with app.test_request_context():
        cited = " ".join(f"{r.source} {r.url}" for r in rights_for(country))
        for source in MUST_CITE[country]:
            assert source in cited, (country, source)
        for other, sources in MUST_CITE.items():
            if other != country:
                assert not any(s in cited for s in sources), (country, other)
        assert all(str(r.text) and r.url.startswith("https://") for r in rights_for(country))


def test_a_country_whose_law_we_do_not_know_gets_no_list_rather_than_anothers():
    assert rights_for("FR") == ()


#: The demo borrowers (CONTRACT.md): reference, date of birth, account, and what their account
#: page must say in its "Your rights" section.
BORROWERS = {
    "US": ("DEMO-1001", "1985-04-12", "NWB-1001",
           ["validation period", "verification", "original creditor", "stop contacting you",
            "15 U.S.C. 1692g(b)", "Consumer Financial Protection Bureau"]),
    "GB": ("DEMO-3001", "1978-01-23", "TCS-3001",
           ["Free, impartial debt advice", "breathing space", "Financial Ombudsman Service",
            "8 weeks", "Debt Respite Scheme"]),
    "CN": ("DEMO-2001", "1990-09-02", "JRF-2001",
           ["Jade River Consumer Finance", "12378", "GB/T 45251-2025"]),
}


@pytest.mark.parametrize("country", sorted(BORROWERS))
def test_the_account_page_shows_the_borrowers_rights_with_sources(person, demo, country):
    reference, born, account, said = BORROWERS[country]
    person.sign_in(reference, born)
    page = person.get(f"/accounts/{account}")
    assert page.status == 200
    section = page.soup.select_one("section[aria-labelledby=rights-h]")
    assert section is not None, "no rights section"
    text = " ".join(section.get_text(" ").split())
    for words in said:
        assert words in text, (country, words)
    links = [a["href"] for a in section.select("a[href]")]
    assert links == [r.url for r in rights_for(country)], "each right links to its source"
    for other, sources in MUST_CITE.items():
        if other != country:
            assert not any(s in text or any(s in link for link in links) for s in sources), other
