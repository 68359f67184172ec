"""What every benchmark sets before the portal is imported: demo mode and throwaway keys (a
benchmark's own database is made and dropped by it; nothing here is a real secret)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("PORTAL_DEMO", "1")
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "1:" + base64.b64encode(b"b" * 32).decode())
os.environ.setdefault("LOOKUP_HASH_KEY", "bench")
