"""Wang Fang, whose saved language is Simplified Chinese, reads the portal in Simplified Chinese."""

from __future__ import annotations


def test_a_borrower_whose_language_is_chinese_sees_the_account_page_in_chinese(person, demo):
    page = person.sign_in("DEMO-2001", "1990-09-02")
    assert page.soup.html["lang"] == "zh-Hans"
    assert page.h1 == "您的账户"

    page = person.get("/accounts/JRF-2001")

    headings = [" ".join(h.get_text(" ").split()) for h in page.soup.select("h2")]
    assert "您欠多少，为什么欠" in headings and "接下来会怎样" in headings, headings
    rows = [" ".join(tr.get_text(" ").split()) for tr in page.soup.select(".itemization tr")]
    assert "+ 此后产生的利息 ¥600.00" in rows, rows
    assert "What you owe and why" not in page.text


def test_a_signed_out_visitor_asking_for_chinese_gets_it(person, demo):
    page = person.get("/sign-in", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})

    assert page.soup.html["lang"] == "zh-Hans"
    assert page.h1 == "登录"
