"""The demo data of CONTRACT.md: four borrowers, five accounts, staff and a lender user of
"Demo Collections"; and a second agency with its own staff and account, so tenancy shows."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from portal.accounts.placement import Address, Debt, Person
from portal.money import Money

AGENCY = "Demo Collections"
#: Another agency on the same deployment: its staff never see the first one's accounts.
SECOND_AGENCY = "Harbor Recovery"

#: (code, name, country, the agency it placed its debts with)
CREDITORS = [
    ("NWB", "Northwind Bank", "US", AGENCY),
    ("LUM", "Lumen Lending", "US", AGENCY),
    ("JRF", "Jade River Consumer Finance", "CN", AGENCY),
    ("TCS", "Thames Card Services", "GB", AGENCY),
    ("BRC", "Birchwood Credit Union", "US", SECOND_AGENCY),
]

#: Whom a borrower contacts about an account its creditor recalled: (phone, website, address).
CREDITOR_CONTACTS = {
    "NWB": ("+1 800 555 0110", "https://northwind.example/help",
            "Northwind Bank Customer Care\nPO Box 1100\nWilmington, DE 19850\nUnited States"),
    "LUM": ("+1 888 555 0122", "https://lumen.example/contact",
            "Lumen Lending\n500 Market St\nSan Francisco, CA 94105\nUnited States"),
    "JRF": ("+86 400 555 0100", "https://jaderiver.example/service",
            "Jade River Consumer Finance\n88 Century Ave\nShanghai 200120\nChina"),
    "TCS": ("+44 20 7946 0123", "https://thamescards.example/help",
            "Thames Card Services\n10 Bank Lane\nLondon EC2V 6DN\nUnited Kingdom"),
    "BRC": ("+1 206 555 0190", "https://birchwood.example/members",
            "Birchwood Credit Union\n900 4th Ave\nSeattle, WA 98164\nUnited States"),
}

#: Each agency's dialer: (agency, partner, key's public id, key).
DIALERS = [
    (AGENCY, "Demo dialer", "demo-dialer", "demo-dialer-key"),
    (SECOND_AGENCY, "Harbor dialer", "harbor-dialer", "harbor-dialer-key"),
]

#: Who each agency's messages come from: (email_from, sms_sender, postal_address).
IDENTITIES = {
    AGENCY: ("accounts@demo.test", "+15005550006",
             "Demo Collections\n100 Main Street, Suite 400\nSpringfield, IL 62701\nUnited States"),
    SECOND_AGENCY: ("help@harbor.test", "+15005550007",
                    "Harbor Recovery\n8 Quay Road\nPortland, ME 04101\nUnited States"),
}

#: (email, name, role, creditor code for a lender, agency)
STAFF = [
    ("admin@demo.test", "Ada Admin", "admin", None, AGENCY),
    ("agent@demo.test", "Sam Agent", "agent", None, AGENCY),
    ("supervisor@demo.test", "Sky Supervisor", "supervisor", None, AGENCY),
    ("compliance@demo.test", "Chris Compliance", "compliance", None, AGENCY),
    ("lender@northwind.test", "Lee Lender", "lender", "NWB", AGENCY),
    ("admin@harbor.test", "Hana Admin", "admin", None, SECOND_AGENCY),
    ("agent@harbor.test", "Harvey Agent", "agent", None, SECOND_AGENCY),
    ("compliance@harbor.test", "Hollis Compliance", "compliance", None, SECOND_AGENCY),
    ("supervisor@harbor.test", "Hale Supervisor", "supervisor", None, SECOND_AGENCY),
    ("lender@birchwood.test", "Blair Lender", "lender", "BRC", SECOND_AGENCY),
]

#: Commission terms: (creditor, valid from, method, rates as (product or None, from age in
#: days, basis points)). Northwind keeps 25 % net, 30 % on credit cards placed 180 days or more.
TERMS = [
    ("NWB", date(2025, 1, 1), "net", [(None, 0, 2500), ("Credit card", 180, 3000)]),
    ("LUM", date(2025, 1, 1), "gross", [(None, 0, 2000)]),
    ("JRF", date(2025, 1, 1), "net", [(None, 0, 1800)]),
    ("TCS", date(2025, 1, 1), "combined", [(None, 0, 2200)]),
    ("BRC", date(2025, 1, 1), "gross", [(None, 0, 2000)]),
]
STAFF_PASSWORD = "demo-password-1"


def people() -> list[Person]:
    return [
        Person(
            "DEMO-1001", "Alex", "Rivera", "Alex Rivera", date(1985, 4, 12),
            Address("350 W 31st St", "New York", "NY", "10001", "US", "Apt 4B"),
            phones=[("mobile", "+1 213 555 0147")], emails=["alex@example.com"],
            national_id_last4="4321",
        ),
        Person(
            "DEMO-1002", "María", "López", "María López", date(1979, 7, 30),
            Address("12 Brattle St", "Cambridge", "MA", "02139", "US"),
            phones=[("mobile", "+1 617 555 0199")], emails=["maria@example.com"],
            language="es", national_id_last4="8765",
        ),
        Person(
            "DEMO-2001", "芳", "王", "王芳 Wang Fang", date(1990, 9, 2),
            Address("朝阳区建国路 88 号", "北京", "BJ", "100022", "CN"),
            phones=[("mobile", "+86 138 0013 8000")], emails=["wangfang@example.com"],
            language="zh",
        ),
        Person(
            "DEMO-3001", "Oliver", "Bennett", "Oliver Bennett", date(1978, 1, 23),
            Address("1 Parliament Sq", "London", None, "SW1A 1AA", "GB"),
            phones=[("mobile", "+44 7911 123456")], emails=["oliver@example.com"],
        ),
        # Harbor Recovery's borrower.
        Person(
            "DEMO-4001", "Jordan", "Park", "Jordan Park", date(1988, 11, 5),
            Address("400 Pine St", "Seattle", "WA", "98101", "US"),
            phones=[("mobile", "+1 206 555 0123")], emails=["jordan@example.com"],
        ),
    ]


def debts(now: datetime) -> dict[str, list[tuple[str, Debt]]]:
    """Accounts per borrower reference, as (creditor code, debt); dates relative to seeding."""
    today = now.date()
    long_ago = now - timedelta(days=90)

    def usd(text):
        return Money.parse(text, "USD")

    return {
        "DEMO-1001": [
            ("NWB", Debt("NWB-1001", "Credit card", "4000123412341234",
                         usd("2250.00"), usd("195.19"), usd("35.00"), usd("0"),
                         itemization_date=today - timedelta(days=200),
                         charge_off_date=today - timedelta(days=200),
                         last_payment_date=today - timedelta(days=260),
                         validation_notice_sent_at=now - timedelta(days=10))),
            ("LUM", Debt("LUM-1001", "Online loan", "LL-99887766",
                         usd("900.00"), usd("0"), usd("0"), usd("70.00"),
                         itemization_date=today - timedelta(days=150),
                         last_payment_date=today - timedelta(days=120),
                         validation_notice_sent_at=long_ago)),
        ],
        "DEMO-1002": [
            ("NWB", Debt("NWB-1002", "Credit card", "4000555566667777",
                         usd("380.00"), usd("20.55"), usd("10.00"), usd("0"),
                         itemization_date=today - timedelta(days=180),
                         validation_notice_sent_at=long_ago)),
        ],
        "DEMO-2001": [
            ("JRF", Debt("JRF-2001", "Online loan", "JR6222021234567890",
                         Money.parse("12000.00", "CNY"), Money.parse("600.00", "CNY"),
                         Money.zero("CNY"), Money.zero("CNY"),
                         itemization_date=today - timedelta(days=100))),
        ],
        "DEMO-3001": [
            ("TCS", Debt("TCS-3001", "Credit card", "5500111122223333",
                         Money.parse("1100.00", "GBP"), Money.zero("GBP"),
                         Money.parse("50.00", "GBP"), Money.zero("GBP"),
                         itemization_date=today - timedelta(days=120))),
        ],
        "DEMO-4001": [
            ("BRC", Debt("BRC-4001", "Personal loan", "BC-55443322",
                         usd("600.00"), usd("40.00"), usd("0"), usd("0"),
                         itemization_date=today - timedelta(days=140),
                         validation_notice_sent_at=long_ago)),
        ],
    }
