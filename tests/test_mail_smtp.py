"""Email over SMTP, against a real SMTP server (aiosmtpd on a loopback port): the message as it
arrives, STARTTLS and AUTH, the connection kept across messages, and how refusals are told apart."""

from __future__ import annotations

import pytest

from portal.messaging.envelope import Envelope, Permanent, Sent, Transient
from portal.messaging.smtp import BadSmtpUrl, SmtpAdapter, SmtpServer, parse_url


def envelope(n: int = 1, to: str = "alex@example.com", **changes) -> Envelope:
    fields = dict(id=n, channel="email", to=to, sender="Demo Collections <mail@agency.test>",
                  subject="Your payment receipt R-1", text="Paid: $50.00\n\nThank you.",
                  html="<p>Paid: $50.00</p>", language="es", kind="payment_receipt",
                  unsubscribe="https://portal.test/contact-preferences")
    fields.update(changes)
    return Envelope(**fields)


@pytest.mark.parametrize(("url", "server"), [
    ("smtp://127.0.0.1", SmtpServer("127.0.0.1", 25)),
    ("smtp://mail.test:2525", SmtpServer("mail.test", 2525)),
    ("smtps://u:p@mail.test", SmtpServer("mail.test", 465, implicit_tls=True, user="u",
                                         password="p")),
    ("smtp://apikey:s%40cr%2Ft@relay.test:587?starttls=1",
     SmtpServer("relay.test", 587, starttls=True, user="apikey", password="s@cr/t")),
    ("smtp://relay.test?starttls=1&cafile=/etc/ca.pem&verify=0",
     SmtpServer("relay.test", 25, starttls=True, cafile="/etc/ca.pem", verify=False)),
])
def test_smtp_url_says_where_and_how(url, server):
    assert parse_url(url) == server


@pytest.mark.parametrize("url", ["http://mail.test", "smtp://", "mail.test:25",
                                 "smtp://mail.test:port"])
def test_a_bad_smtp_url_is_refused(url):
    with pytest.raises(BadSmtpUrl):
        parse_url(url)


def test_a_message_arrives_as_text_and_html_with_its_id_and_opt_out(smtp_server):
    server = smtp_server()
    adapter = SmtpAdapter(parse_url(server.url()))
    assert adapter.send(envelope(42)) == Sent("smtp", "<outgoing-42@agency.test>")
    adapter.close()
    (caught,) = server.wait_for(1)
    mail = caught.message
    assert (caught.mail_from, caught.rcpt_tos) == ("mail@agency.test", ["alex@example.com"])
    assert mail["From"] == "Demo Collections <mail@agency.test>"
    assert mail["Message-ID"] == "<outgoing-42@agency.test>"
    assert mail["Content-Language"] == "es"
    assert mail["List-Unsubscribe"] == "<https://portal.test/contact-preferences>"
    assert mail.get_content_type() == "multipart/alternative"
    assert caught.part("plain").strip() == "Paid: $50.00\n\nThank you."
    assert caught.part("html").strip() == "<p>Paid: $50.00</p>"


def test_one_connection_carries_many_messages_and_comes_back_when_dropped(smtp_server):
    server = smtp_server()
    adapter = SmtpAdapter(parse_url(server.url()))
    for n in range(5):
        adapter.send(envelope(n))
    server.wait_for(5)
    assert server.catcher.sessions == 1
    adapter._local.conn.close()  # the server (or a NAT) dropped the idle connection
    adapter.send(envelope(6))
    server.wait_for(6)
    assert server.catcher.sessions == 2
    adapter.close()


def test_starttls_and_auth(smtp_server):
    server = smtp_server(auth=("portal", "s3cret"))
    adapter = SmtpAdapter(parse_url(server.url()))
    adapter.send(envelope(1))
    adapter.close()
    (caught,) = server.wait_for(1)
    assert caught.login == "portal"

    wrong = SmtpAdapter(parse_url(server.url("portal", "wrong")))
    with pytest.raises(Transient):  # our configuration, not the borrower's address
        wrong.send(envelope(2))
    wrong.close()
    untrusted = SmtpAdapter(parse_url(server.url().split("&cafile")[0]))
    with pytest.raises(Transient, match="CERTIFICATE_VERIFY_FAILED"):
        untrusted.send(envelope(3))
    untrusted.close()
    assert len(server.messages) == 1


def test_a_server_that_requires_auth_refuses_a_client_without_it(smtp_server):
    """STARTTLS but no login: refused, and that is our configuration (transient), not a bounce."""
    server = smtp_server(auth=("portal", "s3cret"))
    anonymous = SmtpAdapter(parse_url(server.url().replace("portal:s3cret@", "")))
    with pytest.raises(Transient, match="530"):
        anonymous.send(envelope(1))
    anonymous.close()
    assert server.messages == []


def test_a_refused_address_is_permanent_a_busy_one_transient(smtp_server):
    server = smtp_server()
    server.bounce.add("gone@example.com")
    server.defer.add("busy@example.com")
    adapter = SmtpAdapter(parse_url(server.url()))
    with pytest.raises(Permanent) as bounced:
        adapter.send(envelope(1, to="gone@example.com"))
    assert bounced.value.code == "550" and "User unknown" in bounced.value.reason
    with pytest.raises(Transient, match="451"):
        adapter.send(envelope(2, to="busy@example.com"))
    adapter.send(envelope(3))  # the same session goes on after both refusals
    adapter.close()
    assert [m.rcpt_tos for m in server.wait_for(1)] == [["alex@example.com"]]
    assert server.catcher.sessions == 1


def test_no_server_is_transient():
    server = parse_url("smtp://127.0.0.1:9")  # discard: nothing listens
    with pytest.raises(Transient):
        SmtpAdapter(server, timeout=2).send(envelope(1))


def test_long_text_and_headers_in_any_language_arrive_whole(smtp_server):
    server = smtp_server()
    adapter = SmtpAdapter(parse_url(server.url()))
    body = "付款收据 " * 400 + "\n\n" + "x" * 3000  # lines far over SMTP's 1,000
    adapter.send(envelope(7, sender="Agence Été <mail@agency.test>", subject="您的付款收据 R-7",
                          text=body, html=f"<p>{'é' * 4000}</p>", language="zh_Hans"))
    adapter.close()
    (caught,) = server.wait_for(1)
    assert caught.message["Subject"] == "您的付款收据 R-7"
    assert caught.message["From"] == "Agence Été <mail@agency.test>"
    assert caught.message["Content-Language"] == "zh-Hans"
    assert caught.part("plain") == body
    assert caught.part("html") == f"<p>{'é' * 4000}</p>"
