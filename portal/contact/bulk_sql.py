"""The bulk path's reading: one set-based query per batch of (account, instant) pairs.

PAIRS_SQL reads a row per (account, instant) with what the rules need of an account that has
nothing of its own (its jurisdiction and time zones, whether `at` is in its validation period)
and, in named columns, what it does have (holds, preferences, opt-outs, recent attempts). Where
it guesses a second look will be wanted, it reads the account in full too; elsewhere POINTS_SQL,
PREFERENCES_SQL and ATTEMPTS_SQL do, for the few pairs that need it.
"""

from __future__ import annotations

import select
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from portal.accounts.validation import PERIOD_DAYS, RECEIPT_BUSINESS_DAYS
from portal.contact import rules
from portal.contact.canonical import RECENT
from portal.contact.service import ATTEMPT_LOOKBACK
from portal.extensions import db

#: Separate the parts of PAIRS_SQL's `shape` and `holds` (characters no rule, channel, zone,
#: country or state contains).
SEP, RS = "\x1f", "\x1e"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: A notice sent longer ago than this before `at` has a validation period over by then, in any
#: zone: 5 business days fall within 14 calendar days (10 weekdays, at most 2 holidays), then 30
#: days, then a day either way for the local date (tests/test_contact_bulk.py checks it).
SENT_SPAN = timedelta(days=PERIOD_DAYS + 3 * RECEIPT_BUSINESS_DAYS + 2)
#: From this many (account, instant) pairs on, a batch's query gets more memory for its joins.
LARGE = 5000

#: The (account, instant) pairs asked about, numbered n = 1, 2, ... in the order asked.
ASKED = """
    SELECT q.n, (%(ats)s::timestamptz[])[q.k] AS at, a.id, a.borrower_id, a.creditor_id,
           a.validation_notice_sent_at
    FROM unnest(%(ids)s::int[], %(at_index)s::int[]) WITH ORDINALITY AS q(account_id, k, n)
    JOIN account a ON a.id = q.account_id AND a.id BETWEEN %(lo)s AND %(hi)s
"""
#: The borrowers of the pairs lie in this range (`bounds`, worked out once per batch): a batch
#: read in the order of the accounts (a whole book, say) then reads its own slice of each table,
#: not all of it.
BORROWERS = "{0}.borrower_id BETWEEN (SELECT lo FROM bounds) AND (SELECT hi FROM bounds)"
#: A row per group of pairs that look the same to the first look (`ns`, the pairs' numbers), a
#: row of its own for a pair read in full. What is read: the validation notice's date, where the
#: period may not be over (`SENT_SPAN`); the `shape` (country, state, home zone and
#: every zone, when the borrower has exactly one mailing address with a zone, else NULL: from
#: contact_point_summary, which the database keeps, not from every contact point); what the
#: account has of its own, one named column each (see `Pair`); the holds (rule, channels, end
#: in microseconds since 1970); the last conversation of the last days; the preferences and the
#: agency's policy switches (JSON). Where the first look will not do (`look`, a guess that errs
#: on the side of reading more), the contact points and attempts too, as JSON. Hash joins for a
#: large batch, index look-ups for a small one.
PAIRS_SQL = f"""
WITH r AS MATERIALIZED ({ASKED}),
bounds AS MATERIALIZED (SELECT min(borrower_id) AS lo, max(borrower_id) AS hi FROM r),
x AS (
    SELECT r.n, r.id, r.borrower_id, r.at,
           CASE WHEN r.validation_notice_sent_at >= r.at - %(sent_span)s
                THEN (r.validation_notice_sent_at AT TIME ZONE 'UTC')::date END AS sent_on,
           CASE WHEN pt.addresses = 1 AND pt.home_zone IS NOT NULL
                THEN concat_ws(%(sep)s, pt.country, coalesce(pt.region, ''), pt.home_zone,
                               array_to_string(pt.zones, ' ')) END AS shape,
           coalesce(pt.opted_out, false) AS opted_out,
           coalesce(pf.borrower_id IS NOT NULL AND NOT (
               jsonb_typeof(pf.data) = 'object'
               AND coalesce(pf.data -> 'opted_out_channels', '[]') = '[]'
               AND coalesce(pf.data -> 'opted_out_points', '[]') = '[]'
               AND coalesce(pf.data -> 'inconvenient', '[]') = '[]'
               AND coalesce(pf.data -> 'workplace_prohibited', 'false') IN ('false', 'null')
               AND coalesce(pf.data -> 'consented', '[]') = '[]'),
               false) AS has_preferences,
           held.holds IS NOT NULL AS held,
           coalesce(att.any > 0, false) AS attempted,
           coalesce(att.telephone > 0, false) AS telephoned,
           coalesce(att.recent_calls > 0, false) AS called_recently,
           coalesce(att.recent_calls >= %(often)s, false) AS called_often,
           att.last_talk IS NOT NULL AS talked_recently,
           coalesce(att.visits > 0, false) AS visited,
           we.borrower_id IS NOT NULL AS employer_email,
           held.holds, att.last_talk,
           CASE WHEN pf.data <> '{{}}' THEN pf.data::text END AS preferences,
           CASE WHEN ag.contact_policy <> '{{}}' THEN ag.contact_policy::text END AS policy,
           pt.addresses IS DISTINCT FROM 1 OR pt.home_zone IS NULL OR pt.opted_out OR held.ending
           OR (pf.data IS NOT NULL AND (
               jsonb_typeof(pf.data) <> 'object'
               OR coalesce(pf.data -> 'opted_out_points', '[]') <> '[]'
               OR coalesce(pf.data -> 'workplace_prohibited', 'false') NOT IN ('false', 'null')))
           OR att.recent_calls >= %(often)s
           OR (pt.country = 'CN' AND att.recent_calls > 0)
           OR (pt.country = 'US' AND pt.region = 'MA' AND (att.telephone > 0 OR att.visits > 0))
           OR we.borrower_id IS NOT NULL
           AS look
    FROM r
    LEFT JOIN contact_point_summary pt ON pt.borrower_id = r.borrower_id
         AND {BORROWERS.format('pt')}
    LEFT JOIN contact_preferences pf ON pf.borrower_id = r.borrower_id
         AND {BORROWERS.format('pf')}
    LEFT JOIN (
        SELECT DISTINCT p.borrower_id FROM contact_point p
        WHERE p.employer_provided AND NOT p.employer_email_consent AND {BORROWERS.format('p')}
    ) we ON we.borrower_id = r.borrower_id
    LEFT JOIN creditor cr ON cr.id = r.creditor_id
    LEFT JOIN agency ag ON ag.id = cr.agency_id
    LEFT JOIN (
        SELECT r.n, string_agg(
                   concat_ws(%(sep)s, h.rule, coalesce(array_to_string(h.channels, ','), ''),
                             coalesce((extract(epoch FROM coalesce(h.ended_at, h.until))
                                       * 1000000)::bigint::text, '')),
                   %(rs)s ORDER BY h.id) AS holds,
               bool_or(coalesce(h.ended_at, h.until) IS NOT NULL) AS ending
        FROM r JOIN contact_hold h ON h.borrower_id = r.borrower_id
             AND {BORROWERS.format('h')}
             AND (h.account_id IS NULL OR h.account_id = r.id)
             AND h.started_at <= r.at AND (h.ended_at IS NULL OR h.ended_at > r.at)
        GROUP BY r.n
    ) held ON held.n = r.n
    LEFT JOIN (
        SELECT r.n,
               count(*) FILTER (WHERE c.channel = 'call' AND c.at > r.at - %(recent)s)
                   AS recent_calls,
               max(c.at) FILTER (WHERE c.channel = 'call' AND c.outcome = 'conversation'
                                   AND c.at > r.at - %(recent)s) AS last_talk,
               count(*) FILTER (WHERE c.channel IN ('call', 'sms')) AS telephone,
               count(*) FILTER (WHERE c.channel = 'visit') AS visits,
               count(*) AS any
        FROM r JOIN contact_attempt c ON c.account_id = r.id
             AND c.account_id BETWEEN %(lo)s AND %(hi)s
             AND c.at > r.at - %(lookback)s AND c.at <= r.at AND c.outcome <> 'cancelled'
        GROUP BY r.n
    ) att ON att.n = r.n
)
SELECT array_agg(x.n) AS ns, x.sent_on, x.shape, x.opted_out, x.has_preferences, x.held,
       x.attempted, x.telephoned, x.called_recently, x.called_often, x.talked_recently,
       x.visited, x.employer_email, x.holds, x.last_talk, x.preferences, x.policy,
       CASE WHEN x.look THEN (
           SELECT coalesce(json_agg(json_build_array(
                      p.id, p.kind, p.label, encode(p.value_digest, 'hex'), p.time_zones,
                      p.opted_out_at IS NOT NULL, p.country, p.region, p.employer_provided,
                      p.employer_email_consent) ORDER BY p.id), '[]')
           FROM contact_point p WHERE p.borrower_id = min(x.borrower_id))::text END AS points,
       CASE WHEN x.look THEN (
           SELECT coalesce(json_agg(json_build_array(
                      c.channel, c.outcome, (extract(epoch FROM c.at) * 1000000)::bigint,
                      encode(c.destination_digest, 'hex'),
                      encode(int8send(c.id) || c.destination, 'hex'),
                      c.direction, c.with_consent)), '[]')
           FROM contact_attempt c WHERE c.account_id = min(x.id)
                AND c.at > x.at - %(lookback)s AND c.at <= x.at
                AND c.outcome <> 'cancelled')::text END AS attempts
FROM x
GROUP BY x.at, x.sent_on, x.shape, x.opted_out, x.has_preferences, x.held, x.attempted,
         x.telephoned, x.called_recently, x.called_often, x.talked_recently, x.visited,
         x.employer_email, x.holds, x.last_talk, x.preferences, x.policy, x.look,
         CASE WHEN x.look THEN x.n END
"""

#: A second look where PAIRS_SQL did not guess it would be wanted: the same, by query.
POINTS_SQL = f"""
SELECT q.n, p.id, p.kind, p.label, p.value_digest, p.time_zones, p.opted_out_at IS NOT NULL,
       p.country, p.region, p.employer_provided, p.employer_email_consent
FROM ({ASKED}) q JOIN contact_point p ON p.borrower_id = q.borrower_id
ORDER BY q.n, p.id
"""
PREFERENCES_SQL = f"""
SELECT q.n, pf.data FROM ({ASKED}) q JOIN contact_preferences pf ON pf.borrower_id = q.borrower_id
"""
ATTEMPTS_SQL = f"""
SELECT q.n, c.channel, c.outcome, c.at, c.destination_digest,
       int8send(c.id) || c.destination, c.direction, c.with_consent
FROM ({ASKED}) q JOIN contact_attempt c ON c.account_id = q.id
     AND c.at > q.at - %(lookback)s AND c.at <= q.at AND c.outcome <> 'cancelled'
"""


class Pair(NamedTuple):
    """A row of PAIRS_SQL, its columns by name: a group of pairs that look the same to the
    first look, or one pair read in full (`points` then not None)."""

    ns: list[int]  #: the pairs' numbers, from 1 in the order asked
    sent_on: date | None  #: the validation notice's date, if its period may not be over
    shape: str | None  #: country, state, home zone, every zone (SEP between), if that simple
    opted_out: bool  #: some contact point is opted out
    has_preferences: bool  #: preferences that say something (an opt-out, a time, a workplace)
    held: bool  #: some hold is in force at the instant
    attempted: bool  #: some attempt within the lookback
    telephoned: bool  #: some call or text within the lookback
    called_recently: bool  #: some call within RECENT
    called_often: bool  #: as many calls within RECENT as the US weekly limit, or more
    talked_recently: bool  #: a conversation within RECENT (`last_talk`, the last one)
    visited: bool  #: some visit within the lookback (Massachusetts counts them)
    employer_email: bool  #: an employer-provided email address the borrower has not cleared
    holds: str | None
    last_talk: datetime | None
    preferences: str | None
    policy: str | None
    points: str | None
    attempts: str | None

    @property
    def own(self) -> bool:
        """Has the account anything of its own then (else its shape says all the rules read)?"""
        return (self.opted_out or self.has_preferences or self.held or self.attempted
                or self.telephoned or self.called_recently or self.called_often
                or self.talked_recently or self.visited or self.employer_email)


def _pairs(cursor):
    """A row factory for PAIRS_SQL: each row a Pair, once the columns are known to match."""
    if cursor.description is None:  # a statement without rows (CREATE, DROP)
        return tuple
    names = tuple(column.name for column in cursor.description)
    if names != Pair._fields:
        raise RuntimeError(f"PAIRS_SQL's columns {names} are not Pair's {Pair._fields}")
    return Pair._make


@dataclass
class Detail:
    """An account at an instant, read in full for a second look. Points are (id, kind, label,
    value digest, zones, opted out, country, region, employer provided, employer consented);
    attempts (channel, outcome, at, destination digest, sealed destination, direction, with
    consent); digests and seals as bytes, or hex when read as JSON."""

    pair: Pair  #: its row of PAIRS_SQL (what it has of its own)
    holds: tuple
    preferences: dict
    policy: frozenset[str]
    points: list = field(default_factory=list)
    attempts: list = field(default_factory=list)


def params(keys: list[tuple[int, datetime]]) -> dict:
    """The pairs as query parameters: the ids, and each one's index into the distinct instants,
    as array literals (the fastest way to send a million numbers)."""
    instants: dict[datetime, int] = {}
    for _, at in keys:
        instants.setdefault(at, len(instants) + 1)
    if len(instants) == 1:
        at_index = "{" + ",".join(["1"] * len(keys)) + "}"
    else:
        at_index = "{" + ",".join([str(instants[k[1]]) for k in keys]) + "}"
    ids = [k[0] for k in keys]
    return {"ids": "{" + ",".join(map(str, ids)) + "}", "at_index": at_index,
            "lo": min(ids), "hi": max(ids),
            "ats": list(instants), "lookback": ATTEMPT_LOOKBACK, "sep": SEP, "rs": RS,
            "recent": RECENT, "often": rules.US_CALLS_PER_WEEK, "sent_span": SENT_SPAN}


def connection():
    """The session's own connection (its transaction), as psycopg, for pipeline mode."""
    db.session.flush()  # rows written in this transaction through the ORM must be seen
    return db.session.connection().connection.driver_connection


def send(conn, args: dict, table: str | None = None):
    """Start PAIRS_SQL for a batch. Into a temporary table, in pipeline mode: the server then
    reads the whole batch while we do something else (a result it streams would stall it)."""
    cursor = conn.cursor(binary=True, row_factory=_pairs)
    if table is None:
        cursor.execute(PAIRS_SQL, args)
    else:
        cursor.execute(f"CREATE TEMPORARY TABLE {table} ON COMMIT DROP AS {PAIRS_SQL}", args)
        # The query (a long list of ids) must reach the server whole before it can start.
        while conn.pgconn.flush():
            select.select([], [conn.pgconn.socket], [])
    return cursor


def receive(cursor, keys: list, table: str | None = None) -> list[Pair]:
    """PAIRS_SQL's rows: every pair of the batch in one of them."""
    if table is not None:
        cursor.execute(f"SELECT * FROM {table}")
    rows = cursor.fetchall()
    if table is not None:
        cursor.execute(f"DROP TABLE {table}")
    cursor.close()
    if sum(len(row.ns) for row in rows) < len(keys):
        found = {n for row in rows for n in row.ns}
        missing = next(k for n, k in enumerate(keys, 1) if n not in found)
        raise LookupError(f"no account with id {missing[0]}")
    return rows


@contextmanager
def reading_settings(conn, pairs: int, alone: bool = True):
    """More memory for the hash joins of a large batch, for as long as it is read, and hashing
    rather than sorting to group its rows (the planner, blind to how many pairs an array holds,
    sometimes sorts a hundred thousand wide rows to group them, a quarter slower); no JIT (it
    overestimates the query a thousandfold and would compile it for longer than it runs); and,
    when Python works beside the server (`alone` False), one server process, not a parallel plan
    that would take every core."""
    wanted = {"jit": "off"}
    if pairs >= LARGE:
        wanted["work_mem"] = "256MB"
        wanted["enable_sort"] = "off"
    if not alone:
        wanted["max_parallel_workers_per_gather"] = "0"
    with conn.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(["current_setting(%s), set_config(%s, %s, true)"]
                                             * len(wanted)),
                       [v for name, value in wanted.items() for v in (name, name, value)])
        row = cursor.fetchone()
    before = dict(zip(wanted, row[::2], strict=True))
    try:
        yield
    finally:
        with conn.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(before)),
                           [v for item in before.items() for v in item])
            cursor.fetchone()


def read_details(conn, keys: list, details: list[Detail]) -> None:
    """Points, preferences and attempts of pairs PAIRS_SQL did not read in full."""
    args = params(keys)
    for detail in details:
        detail.points, detail.attempts = [], []
    with conn.cursor() as cursor:
        cursor.execute(POINTS_SQL, args)
        for n, *point in cursor.fetchall():
            details[n - 1].points.append(point)
        cursor.execute(PREFERENCES_SQL, args)
        for n, data in cursor.fetchall():
            details[n - 1].preferences = data
        if any(d.pair.attempted for d in details):
            cursor.execute(ATTEMPTS_SQL, args)
            for n, *attempt in cursor.fetchall():
                details[n - 1].attempts.append(attempt)
