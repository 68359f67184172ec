"""The rights a borrower reads on their account page, by the jurisdiction whose law applies to
them (the country of their mailing address, as the contact rules judge it), each with its source:
a borrower, or the adviser beside them, can check it."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Right:
    #: What the borrower may do, in their words.
    text: str
    #: The law or body it comes from, as it is cited.
    source: str
    #: Where to read the source or act on it.
    url: str


US = (
    Right(_l("You can dispute all or part of this debt. If you do so within the validation "
             "period (30 days after you receive our validation notice), we stop collecting until "
             "we send you verification (proof of the debt)."),
          "15 U.S.C. 1692g(b); 12 CFR 1006.34(b)(5), 1006.38(d)(2)",
          "https://www.ecfr.gov/current/title-12/part-1006"),
    Right(_l("You can ask for the name and address of the original creditor, if it is not the "
             "current one. Ask within the validation period and we stop collecting until we send "
             "it."),
          "15 U.S.C. 1692g(a)(5), (b); 12 CFR 1006.38(c)",
          "https://www.law.cornell.edu/uscode/text/15/1692g"),
    Right(_l("You can tell us to stop contacting you, or to stop using a phone number, an email "
             "address or a way of contact. It costs nothing."),
          "15 U.S.C. 1692c(c); 12 CFR 1006.6(c), (e), 1006.14(h)",
          "https://www.ecfr.gov/current/title-12/part-1006"),
    Right(_l("You can complain about us to the Consumer Financial Protection Bureau, and learn "
             "more about your rights under federal law."),
          _l("Consumer Financial Protection Bureau"), "https://www.consumerfinance.gov/complaint/"),
)
UK = (
    Right(_l("Free, impartial debt advice is available, and using it never counts against you. "
             "MoneyHelper can find you an adviser near you or by phone."),
          _l("FCA Handbook, CONC 7.3; MoneyHelper"),
          "https://www.moneyhelper.org.uk/en/money-troubles/dealing-with-debt"),
    Right(_l("A debt adviser can put you in breathing space (England and Wales): for 60 days, or "
             "while you receive mental health crisis treatment and 30 days after, we must not ask "
             "you to pay, interest and charges are frozen and no enforcement can start."),
          _l("The Debt Respite Scheme (Breathing Space Moratorium and Mental Health Crisis "
             "Moratorium) (England and Wales) Regulations 2020"),
          "https://www.legislation.gov.uk/uksi/2020/1311"),
    Right(_l("If you complain to us and are not happy with our final answer, or we have not "
             "answered within 8 weeks, you can ask the Financial Ombudsman Service to look at it, "
             "free of charge, within 6 months of our final answer."),
          _l("FCA Handbook, DISP 1.6 and 2.8; Financial Ombudsman Service"),
          "https://www.financial-ombudsman.org.uk/"),
)
CN = (
    Right(_l("We collect this debt only on behalf of %(creditor)s, which entrusted it to us, and "
             "only within that mandate: we may not charge you any fee, and you can ask "
             "%(creditor)s to confirm that we act for it."),
          "GB/T 45251-2025", "https://openstd.samr.gov.cn/"),
    Right(_l("How to complain: tell us first, here or by letter. If you are not satisfied with "
             "our answer, you can complain to %(creditor)s, and to the National Financial "
             "Regulatory Administration on its consumer hotline, 12378."),
          _l("Measures for the Administration of Consumer Rights Protection of Banking and "
             "Insurance Institutions; National Financial Regulatory Administration"),
          "https://www.nfra.gov.cn/"),
)
#: By the country whose law applies (contact rules' jurisdiction); none known: no list, rather
#: than another country's.
BY_COUNTRY: dict[str, tuple[Right, ...]] = {"US": US, "GB": UK, "CN": CN}


def rights_for(country: str) -> tuple[Right, ...]:
    return BY_COUNTRY.get(country, ())
