"""The dispute flow's posts are rate limited per person and per address (issue 12): past the limit
the answer is 429 with a page (or, for htmx, a fragment) that says nothing was saved, and
nothing is: no dispute, no file, no event, no hold."""

from __future__ import annotations

import io

import pytest
from limits import parse

from portal.disputes.views import DISPUTE_POST_ADDRESS_LIMIT, DISPUTE_POST_LIMIT
from tests.fixtures.factories import sample_pdf
from tests.test_dispute_uploads import FORM, OUTSIDER, OWNER, assert_nothing_stored, send, stored

PER_PERSON = parse(DISPUTE_POST_LIMIT).amount
PER_ADDRESS = parse(DISPUTE_POST_ADDRESS_LIMIT).amount
WAIT = "You have sent this form many times in the last hour, so we did not save this one."


@pytest.fixture
def borrower(demo, person):
    person.sign_in(*OWNER)
    return person


def refused_posts(person, count: int, form: str = FORM) -> None:
    """`count` posts of the dispute form that are refused for their content (no reason chosen):
    they count towards the limit all the same."""
    token = person.get(form).soup.find("input", {"name": "csrf_token"})["value"]
    for _ in range(count):
        response = person.client.post(form, data={"csrf_token": token, "reasons": ""})
        assert response.status_code == 422, response.status_code


def verification_post(staff):
    """Staff's verification post, with its CSRF token but nothing else (so refused after the
    limiter has counted it)."""
    token = staff.get("/staff/disputes").soup.find("input", {"name": "csrf_token"})["value"]
    return staff.client.post("/staff/disputes/D-999999/verification", data={"csrf_token": token})


def test_the_limits_are_an_hour_s_worth_for_a_person():
    assert (PER_PERSON, PER_ADDRESS) == (10, 30)
    assert parse(DISPUTE_POST_LIMIT).get_expiry() == 3600


def test_the_post_past_the_limit_gets_429_and_writes_nothing(borrower, db, app):
    refused_posts(borrower, PER_PERSON)
    before = stored(db, app)

    page = send(borrower, [("statement.pdf", sample_pdf())])  # a dispute that would be accepted

    assert page.status == 429
    assert page.h1 == "Please wait" and WAIT in page.text
    assert "Retry-After" in page.response.headers
    assert_nothing_stored(before, stored(db, app))
    assert borrower.get(FORM).status == 200  # reading the form is never limited


def test_a_new_address_does_not_reset_a_person_s_limit(borrower, db, app):
    refused_posts(borrower, PER_PERSON)
    borrower.client.environ_base["REMOTE_ADDR"] = "10.250.0.1"
    before = stored(db, app)

    page = send(borrower, [("statement.pdf", sample_pdf())])

    assert page.status == 429
    assert_nothing_stored(before, stored(db, app))


def test_another_borrower_at_another_address_is_not_held_back(borrower, make_person, db, app):
    refused_posts(borrower, PER_PERSON)
    other = make_person()
    other.sign_in(*OUTSIDER)

    refused_posts(other, 1, "/accounts/NWB-1002/dispute")  # judged on what it says: 422


def test_an_htmx_post_past_the_limit_gets_the_fragment(borrower, db, app):
    refused_posts(borrower, PER_PERSON)
    token = borrower.get(FORM).soup.find("input", {"name": "csrf_token"})["value"]
    before = stored(db, app)

    response = borrower.client.post(
        FORM, data={"csrf_token": token, "reasons": "not_mine",
                    "files": (io.BytesIO(sample_pdf()), "statement.pdf")},
        headers={"HX-Request": "true", "HX-Target": "main", "HX-Current-URL": "http://localhost/"})

    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert WAIT in text and 'id="dispute-too-many"' in text and "<html" not in text
    assert_nothing_stored(before, stored(db, app))


def test_many_people_at_one_address_meet_the_address_limit(borrower, make_person, staff_sign_in,
                                                           db, app):
    address = borrower.client.environ_base["REMOTE_ADDR"]
    other = make_person()
    other.client.environ_base["REMOTE_ADDR"] = address
    other.sign_in(*OUTSIDER)
    refused_posts(borrower, PER_PERSON)
    refused_posts(other, PER_PERSON, "/accounts/NWB-1002/dispute")
    agent = make_person()
    agent.client.environ_base["REMOTE_ADDR"] = address
    staff_sign_in(agent, "agent@demo.test")
    for _ in range(PER_ADDRESS - 2 * PER_PERSON):
        # Staff's verification posts count at the same address (refused here: no document).
        assert verification_post(agent).status_code in (400, 404)
    third = make_person()
    third.client.environ_base["REMOTE_ADDR"] = address
    staff_sign_in(third, "compliance@demo.test")

    response = verification_post(third)

    assert response.status_code == 429
    assert WAIT in response.get_data(as_text=True)


def test_staff_verification_posts_are_limited_per_person(make_person, staff_sign_in, demo):
    agent = make_person()
    staff_sign_in(agent, "agent@demo.test")
    for _ in range(PER_PERSON):
        assert verification_post(agent).status_code in (400, 404)

    response = verification_post(agent)

    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert WAIT in text and "Back to the disputes" in text
