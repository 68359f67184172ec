"""Which answer htmx gets: the swapped element's fragment only when htmx swaps that element; a
boosted link or form to the same URL, and a browser without JavaScript, get the whole page; and
every such answer says in Vary which headers chose it."""

from __future__ import annotations

import pytest

from portal.payments.models import Payment
from portal.web.fragments import wants_fragment

ALEX = ("DEMO-1001", "1985-04-12")
CHOOSING = ("HX-Request", "HX-Target", "HX-Boosted")


def swap(target: str) -> dict[str, str]:
    """The headers htmx sends when an element swaps `target`."""
    return {"HX-Request": "true", "HX-Target": target, "HX-Current-URL": "http://localhost/"}


def boosted(target: str) -> dict[str, str]:
    """A boosted link or form under an inherited `hx-target`: htmx still names that target."""
    return swap(target) | {"HX-Boosted": "true"}


HOW = {"fragment": swap, "boosted": boosted, "plain": lambda _target: {}}


@pytest.fixture
def alex(person, demo):
    page = person.sign_in(*ALEX)
    assert page.h1 == "Your accounts"
    return person


def assert_varies_on_the_choice(response):
    assert all(header in response.vary for header in CHOOSING), response.headers
    assert len(response.headers.getlist("Vary")) == 1, "one Vary header, merged"


def is_whole_page(page) -> bool:
    return page.soup.find("html") is not None and page.soup.title is not None


@pytest.mark.parametrize(("headers", "fragment"), [
    (swap("plan-preview"), True),
    (boosted("plan-preview"), False),
    ({"HX-Request": "true"}, False),
    ({"HX-Target": "plan-preview"}, False),  # not from htmx
    (swap("main"), False),
    ({"HX-Request": "true", "HX-History-Restore-Request": "true"}, False),
    ({}, False),
])
def test_only_htmx_swapping_that_element_gets_its_fragment(app, headers, fragment):
    with app.test_request_context("/", headers=headers):
        assert wants_fragment("plan-preview") is fragment


# --- the plan calculator -------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["fragment", "boosted", "plain"])
def test_the_calculator_answers_with_the_schedule_alone_only_to_its_own_swap(alex, how):
    page = alex.get("/accounts/LUM-1001/plan")

    answer = alex.submit(page, {"kind": "installments", "months": "12"}, action="/plan",
                         headers=HOW[how]("plan-preview"))

    assert answer.status == 200
    assert "Total of 12 payments" in answer.text and "$830.00" in answer.text
    assert is_whole_page(answer) is (how != "fragment")
    assert (answer.h1 == "Set up a plan") is (how != "fragment")
    assert_varies_on_the_choice(answer.response)


@pytest.mark.parametrize(("how", "status"), [("fragment", 200), ("boosted", 422), ("plain", 422)])
def test_a_refused_plan_is_said_in_the_fragment_and_a_422_page(alex, how, status):
    page = alex.get("/accounts/LUM-1001/plan")

    answer = alex.submit(page, {"kind": "installments", "months": "0"}, action="/plan",
                         headers=HOW[how]("plan-preview"))

    assert answer.status == status
    assert answer.soup.select_one(".alert--error") is not None
    assert is_whole_page(answer) is (how != "fragment")


# --- the payment status --------------------------------------------------------------------------


def _waiting_for_the_bank(db, make_payment) -> Payment:
    payment = make_payment("LUM-1001", 6000, "requires_action")

    def give_it_a_bank_check():
        row = db.database.session.get(Payment, payment.id)
        row.intent_client_secret = "pi_test_secret_for_the_bank"

    db.run(give_it_a_bank_check)
    return payment


@pytest.mark.parametrize("how", ["fragment", "boosted", "plain"])
def test_the_payment_status_polls_with_its_fragment_and_pages_stay_whole(alex, make_payment,
                                                                         how):
    payment = make_payment("LUM-1001", 5000, "pending")

    answer = alex.get(f"/payments/{payment.public_id}", headers=HOW[how]("payment-status"))

    assert answer.status == 200
    assert answer.h1 == "We are confirming your payment"
    assert is_whole_page(answer) is (how != "fragment")
    status = answer.soup.find(id="payment-status")
    assert status is not None and status["hx-target"] == "#payment-status"
    # Its "Check again" link is boosted: it must not inherit the poll's target and swap.
    assert {"hx-target", "hx-swap"} <= set(status["hx-disinherit"].split())
    assert "HX-Trigger" not in answer.response.headers
    assert "HX-Refresh" not in answer.response.headers
    assert_varies_on_the_choice(answer.response)


@pytest.mark.parametrize("how", ["fragment", "boosted", "plain"])
def test_a_settled_payment_tells_the_page_in_every_answer(alex, make_payment, how):
    payment = make_payment("LUM-1001", 5000, "succeeded")

    answer = alex.get(f"/payments/{payment.public_id}", headers=HOW[how]("payment-status"))

    assert answer.h1 == "Thank you: your payment went through"
    assert is_whole_page(answer) is (how != "fragment")
    assert answer.response.headers["HX-Trigger"] == "payment-settled"
    assert "hx-get" not in answer.soup.find(id="payment-status").attrs  # the polling stops


@pytest.mark.parametrize("how", ["fragment", "boosted", "plain"])
def test_a_bank_check_reloads_only_a_swapped_fragment(alex, db, make_payment, how):
    payment = _waiting_for_the_bank(db, make_payment)

    answer = alex.get(f"/payments/{payment.public_id}", headers=HOW[how]("payment-status"))

    assert answer.h1 == "Your bank needs to confirm it is you"
    assert is_whole_page(answer) is (how != "fragment")
    # A swapped fragment runs no Stripe.js: only then does htmx reload the whole page.
    assert (answer.response.headers.get("HX-Refresh") == "true") is (how == "fragment")
    pay_js = answer.soup.find(  # static URLs carry ?v=<hash>
        "script", src=lambda src: src and src.split("?")[0].endswith("/js/pay.js"))
    assert (pay_js is not None) is (how != "fragment")


# --- "Stay signed in" ----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["fragment", "boosted", "plain"])
def test_stay_signed_in_clears_the_warning_only_for_its_own_swap(alex, how):
    page = alex.get("/accounts/")
    token = page.soup.find("input", {"name": "csrf_token"})["value"]

    response = alex.client.post("/session/extend", data={"csrf_token": token},
                                headers=HOW[how]("idle-warning"))

    if how == "fragment":
        assert response.status_code == 200 and response.get_data(as_text=True) == ""
    else:  # a page load (boosted or not) goes back to a whole page, never to an empty body
        assert response.status_code == 303
        assert response.headers["Location"] == "/"
    assert_varies_on_the_choice(response)


@pytest.mark.parametrize(("referer", "location"), [
    ("http://localhost/accounts/", "/accounts/"),
    ("http://localhost/accounts/?tab=plans", "/accounts/?tab=plans"),
    ("/accounts/", "/accounts/"),
    ("https://evil.example/accounts/", "/"),
    ("http://localhost.evil.example/", "/"),
    ("http://localhost@evil.example/", "/"),
    ("//evil.example/accounts/", "/"),
    ("http://localhost//evil.example/", "/"),
    ("/\\evil.example/", "/"),
    ("http://localhost/\\evil.example/", "/"),
    ("http://localhost/\t/evil.example/", "/"),
    ("javascript:alert(1)", "/"),
    ("", "/"),
])
def test_stay_signed_in_goes_back_only_to_a_page_of_this_site(alex, referer, location):
    """Issue 12: the Referer is the client's to set; following it elsewhere is an open redirect."""
    page = alex.get("/accounts/")
    token = page.soup.find("input", {"name": "csrf_token"})["value"]

    response = alex.client.post("/session/extend", data={"csrf_token": token},
                                headers={"Referer": referer})

    assert response.status_code == 303
    assert response.headers["Location"] == location
