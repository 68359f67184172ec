"""Many contact decisions at once, answering exactly what `service.decide` answers one at a time.

`service.snapshot` reads one account with two queries and decrypts every contact point. Here a
batch of (account, channel, destination, at) is read with one set-based query: a row per
(account, instant) with what the rules need of an account that has nothing of its own and what
it does have. Decisions come from `rules.decide` itself, run on a *canonical* snapshot and
memoised: every account that looks the same to the rules shares one call. Most accounts are
decided from that row alone (the first look); the others are read in full (the second look).
`decide_stream` does this for a stream of any length, the server reading the next batch while
Python decides this one.

The parts, each in its own module:

* `bulk_sql` — the query (PAIRS_SQL, its row `Pair` with named columns), its parameters, and
  the reading of a batch (settings, pipeline, the second look's queries);
* `canonical` — canonical snapshots and the memo of their decisions (why they decide exactly
  what the account's own snapshot decides is argued there);
* `bulk_looks` — the first look (a row alone) and the second (an account read in full);
* `bulk_stream` — batches, read-ahead, garbage collection while a stream runs.

This module is what callers use.
"""

from __future__ import annotations

from portal.contact.bulk_stream import decide_many, decide_stream
from portal.contact.canonical import Ask, Memo

__all__ = ["Ask", "Memo", "decide_many", "decide_stream"]
