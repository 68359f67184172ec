"""An SMTP server for the load benchmarks: each sign-in code it receives is kept in a file named
by its recipient, so the load generator reads a borrower's code as a person reads their mail.

    .venv/bin/python -m aiosmtpd -n -l 127.0.0.1:2525 -c bench._codes.CodeFiles /tmp/codes
"""

from __future__ import annotations

import os
import re
from email import message_from_bytes
from pathlib import Path

CODE = re.compile(rb"\b(\d{6})\b")


class CodeFiles:
    """aiosmtpd handler: the six-digit code of each message, written to <directory>/<recipient>
    (atomically, so a reader never sees half a file); other messages (receipts, notices) are
    accepted and dropped."""

    def __init__(self, directory: str):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_cli(cls, parser, *args):
        """aiosmtpd's hook for the handler's command-line arguments: the directory."""
        if len(args) != 1:
            parser.error("CodeFiles takes one argument: the directory")
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = message_from_bytes(envelope.original_content or envelope.content)
        parts = message.walk() if message.is_multipart() else [message]
        text = b"".join(p.get_payload(decode=True) or b"" for p in parts
                        if p.get_content_type() == "text/plain")
        found = CODE.search(text) if "sign-in code" in (message["Subject"] or "") else None
        if found:
            for recipient in envelope.rcpt_tos:
                path = self.directory / recipient.lower()
                temporary = path.with_suffix(".tmp")
                temporary.write_bytes(found.group(1))
                os.replace(temporary, path)
        return "250 OK"
