"""Email over SMTP: the email channel's adapter, for any server (the agency's relay, SES or
Postmark through SMTP), one connection kept open per thread and reused across messages.

SMTP_URL says where: `smtp://user:password@host:587?starttls=1` (STARTTLS), `smtps://...@host:465`
(TLS from the first byte) or `smtp://host:25` (plain, for a relay on the same network or a local
catcher). User and password are percent-decoded. A 5xx refusal of the recipient is Permanent (the
address bounces); anything else (4xx, a dropped connection, a timeout) is Transient.
"""

from __future__ import annotations

import base64
import secrets
import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr
from functools import lru_cache
from urllib.parse import parse_qs, unquote, urlsplit

from portal.messaging.envelope import Envelope, Permanent, Sent, Transient

#: Seconds to wait for the server to connect and to answer each command.
TIMEOUT = 15.0
PROVIDER = "smtp"


class BadSmtpUrl(ValueError):
    """SMTP_URL cannot be understood: the app refuses to start rather than lose mail."""


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to hand mail over, as SMTP_URL says."""

    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    user: str | None = None
    password: str | None = None
    #: Verify the server's certificate (off only for a test server's self-signed one).
    verify: bool = True
    #: A CA bundle to trust instead of the system's (`?cafile=/path`).
    cafile: str | None = None


def parse_url(url: str) -> SmtpServer:
    """SMTP_URL → SmtpServer; BadSmtpUrl when it is not one."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise BadSmtpUrl("SMTP_URL must look like smtp://user:password@host:port or smtps://...")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    implicit = parts.scheme == "smtps"
    try:
        port = parts.port or (465 if implicit else 25)
    except ValueError as bad:
        raise BadSmtpUrl("SMTP_URL has a port that is not a number") from bad
    return SmtpServer(
        host=parts.hostname, port=port, implicit_tls=implicit,
        starttls=query.get("starttls", "0") in ("1", "true", "yes"),
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        verify=query.get("verify", "1") not in ("0", "false", "no"),
        cafile=query.get("cafile") or None,
    )


@lru_cache(maxsize=1024)
def _address(sender: str) -> tuple[str, str]:
    """(name, address) of a sender: the same few agencies' senders, parsed once (the email
    package's parser was a tenth of the worker's time per message)."""
    return parseaddr(sender)


def message_id(envelope: Envelope) -> str:
    """The Message-ID is the idempotency key: the outgoing message's id at the sender's domain, so
    a retry after a crash carries the same id and the receiving side can drop the copy."""
    domain = _address(envelope.sender)[1].rpartition("@")[2] or "localhost"
    return f"<outgoing-{envelope.id}@{domain}>"


def _header(value: str) -> str:
    """One line (no header injection), RFC 2047-encoded when it is not ASCII."""
    value = " ".join(value.splitlines())
    return value if value.isascii() else Header(value, "utf-8").encode(linesep="\r\n")


def _part(content_type: str, body: str) -> bytes:
    return (f'Content-Type: {content_type}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n").encode() + \
        base64.encodebytes(body.encode()).replace(b"\n", b"\r\n")


@lru_cache(maxsize=1024)
def _from(sender: str) -> str:
    return formataddr(_address(sender), charset="utf-8")


def compose(envelope: Envelope) -> bytes:
    """The message as it goes on the wire (CRLF lines, UTF-8 bodies in base64): the text and,
    when there is one, its HTML alternative. Written out directly: the email package's classes
    took most of the worker's time per message (README, "Speed"); the tests read every message
    back with the email package."""
    headers = [("From", _from(envelope.sender)),
               ("To", _header(envelope.to)),
               ("Subject", _header(envelope.subject)),
               ("Date", formatdate(usegmt=True)),
               ("Message-ID", message_id(envelope)),
               ("Content-Language", envelope.language.replace("_", "-")),
               ("MIME-Version", "1.0")]
    if envelope.unsubscribe:
        headers.append(("List-Unsubscribe", f"<{_header(envelope.unsubscribe)}>"))
    head = "".join(f"{k}: {v}\r\n" for k, v in headers).encode()
    if envelope.html is None:
        return head + _part("text/plain", envelope.text)
    # "=_" never occurs in base64, so the boundary cannot occur in the parts.
    boundary = f"=_outgoing-{envelope.id}-{secrets.token_hex(8)}"
    return (head + f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
            f"--{boundary}\r\n".encode() + _part("text/plain", envelope.text)
            + f"\r\n--{boundary}\r\n".encode() + _part("text/html", envelope.html)
            + f"\r\n--{boundary}--\r\n".encode())


class SmtpAdapter:
    """The email channel over SMTP: one kept connection per thread (a worker's batch reuses it)."""

    name = PROVIDER

    def __init__(self, server: SmtpServer, timeout: float = TIMEOUT):
        self.server = server
        self.timeout = timeout
        self._local = threading.local()

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.server.cafile)
        if not self.server.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _connect(self) -> smtplib.SMTP:
        s = self.server
        if s.implicit_tls:
            conn = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout, context=self._context())
        else:
            conn = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
        try:
            conn.ehlo()
            if s.starttls:
                conn.starttls(context=self._context())
                conn.ehlo()
            if s.user:
                conn.login(s.user, s.password or "")
        except BaseException:
            conn.close()
            raise
        return conn

    def _connection(self) -> smtplib.SMTP:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def close(self) -> None:
        """Say QUIT on this thread's connection, if one is open."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def send(self, envelope: Envelope) -> Sent:
        mail = compose(envelope)
        ref = message_id(envelope)
        for fresh in (False, True):
            try:
                if fresh:
                    self._drop()
                conn = self._connection()
                conn.sendmail(_address(envelope.sender)[1], [envelope.to], mail)
                return Sent(PROVIDER, ref)
            except smtplib.SMTPRecipientsRefused as refused:
                code, reason = next(iter(refused.recipients.values()))
                raise _refusal(code, reason) from None
            except smtplib.SMTPServerDisconnected as lost:
                # A kept connection the server closed while idle: once more on a new one.
                if fresh:
                    self._drop()
                    raise Transient(f"disconnected: {lost}"[:300]) from None
            except smtplib.SMTPResponseException as answer:
                self._reset()
                raise Transient(_said(answer.smtp_code, answer.smtp_error)) from None
            except (smtplib.SMTPException, OSError) as failure:
                self._drop()
                raise Transient(f"{type(failure).__name__}: {failure}"[:300]) from None
        raise AssertionError("unreachable")

    def _reset(self) -> None:
        """After a refused command the session goes on (RSET), or is dropped if that fails."""
        conn = getattr(self._local, "conn", None)
        try:
            if conn is not None:
                conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()


def _said(code: int, reason: bytes | str) -> str:
    text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    return f"{code} {text}"[:300]


def _refusal(code: int, reason: bytes | str) -> Exception:
    """A refused recipient: 5xx is for good (the address does not exist), 4xx may pass later."""
    if 500 <= code < 600:
        return Permanent(str(code), _said(code, reason))
    return Transient(_said(code, reason))
