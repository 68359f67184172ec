"""The words of each first letter, as blocks (headings, paragraphs, an itemization table, tick
boxes) that the letter, the email and the account page lay out alike. Pure.

The US notice is the CFPB's model validation notice (12 CFR 1006 appendix B, form B-1) and, for
a borrower who reads Spanish, form B-2 after it: legal text fixed in both languages, so it is
written here in each language rather than through the message catalog, which could leave a
Spanish reader an English "translation". The UK and China letters are written in English and
Simplified Chinese the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from babel.dates import format_date

from portal.money import Money
from portal.notices.content import FirstLetter

#: Where the CFPB explains a consumer's rights in debt collection (1006.34(c)(3)(iv)).
CFPB_URL = "www.cfpb.gov/debt-collection"
#: The Spanish-language statement of 1006.34(d)(3)(vi), offered in every US notice.
SPANISH_OFFER = "Póngase en contacto con nosotros para solicitar una copia de este formulario " \
                "en español."


@dataclass(frozen=True)
class Block:
    """One piece of a notice: a heading, a paragraph, a table of (label, amount), tick boxes."""

    kind: str
    text: str = ""
    rows: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Section:
    """The notice in one language (the lang attribute of its part of the page)."""

    language: str
    title: str
    blocks: tuple[Block, ...]


def heading(text: str) -> Block:
    return Block("heading", text)


def para(text: str) -> Block:
    return Block("text", text)


def table(*rows: tuple[str, str]) -> Block:
    return Block("table", rows=tuple(rows))


def checks(*items: str) -> Block:
    return Block("checks", rows=tuple((item, "") for item in items))


def _a(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


# Cached: babel's formatting was most of a letter's time, and a chunk's letters share their dates
# and many amounts (every zero line of an itemization).
@lru_cache(maxsize=4096)
def _amount(value: Money, locale: str) -> str:
    return value.format(locale)


@lru_cache(maxsize=1024)
def _day(letter_date, locale: str) -> str:
    return format_date(letter_date, "long", locale=locale)


def _sign_in(n: FirstLetter, words: str) -> tuple[Block, ...]:
    """How the borrower signs in to the portal (a newly placed one knows no reference yet),
    where the letter has their reference to give."""
    if not n.sign_in_reference:
        return ()
    return (para(words.format(url=n.portal_url, reference=n.sign_in_reference)),)


def _us_english(n: FirstLetter) -> Section:
    i, money, day = n.itemization, (lambda m: _amount(m, "en_US")), (lambda d: _day(d, "en_US"))
    by = day(n.respond_by)
    return Section("en", "Validation notice", (
        para(f"{n.collector.name} is a debt collector. We are trying to collect a debt that you "
             f"owe to {n.current_creditor}. We will use any information you give us to help "
             "collect the debt."),
        heading("Our information shows:"),
        para(f"You had {_a(n.product.lower())} from {n.creditor_on_itemization_date} with "
             f"account number {n.account_number}. Reference: {n.reference}."),
        table((f"As of {day(n.itemization_date)}, you owed:", money(i.on_itemization_date)),
              (f"Between {day(n.itemization_date)} and today:", ""),
              ("You were charged this amount in interest:", "+ " + money(i.interest)),
              ("You were charged this amount in fees:", "+ " + money(i.fees)),
              ("You paid or were credited this amount toward the debt:",
               "- " + money(i.payments_and_credits)),
              ("Total amount of the debt now:", money(i.current_balance))),
        heading("How can you dispute the debt?"),
        para(f"Call or write to us by {by}, to dispute all or part of the debt. If you do not, "
             "we will assume that our information is correct."),
        para(f"If you write to us by {by}, we must stop collection on any amount you dispute "
             "until we send you information that shows you owe the debt. You may use the form "
             "below or write to us without the form. You may also include supporting documents. "
             f"We accept disputes electronically at {n.portal_url}."),
        heading("What else can you do?"),
        para("Write to ask for the name and address of the original creditor, if different "
             f"from the current creditor. If you write by {by}, we must stop collection until "
             "we send you that information. You may use the form below or write to us without "
             f"the form. We accept such requests electronically at {n.portal_url}."),
        para(f"Go to {CFPB_URL} to learn more about your rights under federal law. For "
             "instance, you have the right to stop or limit how we contact you."),
        para(f"Contact us about your payment options: {n.portal_url}."),
        *_sign_in(n, "To see this account online, go to {url} and sign in with the reference "
                     "{reference} and your date of birth."),
        para(SPANISH_OFFER),
        heading("How do you want to respond?"),
        para("Check all that apply:"),
        para("I want to dispute the debt because I think:"),
        checks("This is not my debt.", "The amount is wrong.",
               "Other (please describe on reverse or attach additional information)."),
        checks("I want you to send me the name and address of the original creditor.",
               "I enclosed this amount: ________",
               "Quiero este formulario en español."),
        para(f"Make your check payable to {n.collector.name}. Include the reference number "
             f"{n.reference}."),
        para("Mail this form to: " + ", ".join((n.collector.name, *n.collector.address))),
    ))


def _us_spanish(n: FirstLetter) -> Section:
    i, money, day = n.itemization, (lambda m: _amount(m, "es_US")), (lambda d: _day(d, "es_US"))
    by = day(n.respond_by)
    return Section("es", "Aviso de validación", (
        para(f"{n.collector.name} es un cobrador de deudas. Estamos tratando de cobrar una deuda "
             f"que usted le debe a {n.current_creditor}. Usaremos cualquier información que "
             "usted nos dé para ayudar a cobrar la deuda."),
        heading("Nuestra información muestra:"),
        para(f"Usted tenía una cuenta ({n.product.lower()}) de {n.creditor_on_itemization_date} "
             f"con el número de cuenta {n.account_number}. Referencia: {n.reference}."),
        table((f"Al {day(n.itemization_date)}, usted debía:", money(i.on_itemization_date)),
              (f"Entre el {day(n.itemization_date)} y hoy:", ""),
              ("Se le cobró esta cantidad en intereses:", "+ " + money(i.interest)),
              ("Se le cobró esta cantidad en cargos:", "+ " + money(i.fees)),
              ("Usted pagó o se le acreditó esta cantidad a la deuda:",
               "- " + money(i.payments_and_credits)),
              ("Cantidad total de la deuda ahora:", money(i.current_balance))),
        heading("¿Cómo puede disputar la deuda?"),
        para(f"Llámenos o escríbanos antes del {by} para disputar toda o parte de la deuda. Si "
             "no lo hace, asumiremos que nuestra información es correcta."),
        para(f"Si nos escribe antes del {by}, debemos dejar de cobrar cualquier cantidad que "
             "usted dispute hasta que le enviemos información que demuestre que usted debe la "
             "deuda. Puede usar el formulario de abajo o escribirnos sin el formulario. También "
             "puede incluir documentos de respaldo. Aceptamos disputas electrónicamente en "
             f"{n.portal_url}."),
        heading("¿Qué más puede hacer?"),
        para("Escríbanos para pedir el nombre y la dirección del acreedor original, si es "
             f"diferente del acreedor actual. Si nos escribe antes del {by}, debemos dejar de "
             "cobrar hasta que le enviemos esa información. Puede usar el formulario de abajo o "
             "escribirnos sin el formulario. Aceptamos tales solicitudes electrónicamente en "
             f"{n.portal_url}."),
        para(f"Visite {CFPB_URL} para obtener más información sobre sus derechos bajo la ley "
             "federal. Por ejemplo, usted tiene derecho a detener o limitar la forma en que nos "
             "comunicamos con usted."),
        para(f"Comuníquese con nosotros sobre sus opciones de pago: {n.portal_url}."),
        *_sign_in(n, "Para ver esta cuenta en línea, visite {url} e inicie sesión con la "
                     "referencia {reference} y su fecha de nacimiento."),
        heading("¿Cómo desea responder?"),
        para("Marque todas las opciones que correspondan:"),
        para("Quiero disputar la deuda porque creo que:"),
        checks("Esta no es mi deuda.", "La cantidad es incorrecta.",
               "Otro (por favor, describa al reverso o adjunte información adicional)."),
        checks("Quiero que me envíen el nombre y la dirección del acreedor original.",
               "Adjunté esta cantidad: ________"),
        para(f"Haga su cheque pagadero a {n.collector.name}. Incluya el número de referencia "
             f"{n.reference}."),
        para("Envíe este formulario a: " + ", ".join((n.collector.name, *n.collector.address))),
    ))


#: Free, independent debt advice in the UK (CONC 7.3.7AR asks firms to point borrowers to it).
UK_ADVICE = (
    "MoneyHelper: www.moneyhelper.org.uk, 0800 138 7777",
    "StepChange Debt Charity: www.stepchange.org, 0800 138 1111",
    "National Debtline: www.nationaldebtline.org, 0808 808 4000",
    "Citizens Advice: www.citizensadvice.org.uk, 0800 144 8848",
)


def _debt_table(n: FirstLetter, locale: str, labels: tuple[str, ...]) -> Block:
    i = n.itemization
    amounts = (i.on_itemization_date, i.interest, i.fees, i.payments_and_credits,
               i.current_balance)
    return table(*((label, _amount(a, locale)) for label, a in zip(labels, amounts, strict=True)))


def _gb(n: FirstLetter) -> Section:
    day = _day(n.itemization_date, "en_GB")
    return Section("en", f"Your {n.current_creditor} account is now with {n.collector.name}", (
        para(f"{n.collector.name} is a debt collection agency. {n.current_creditor} has asked "
             "us to collect this debt for it: we act on its behalf, and it still owns the debt."),
        heading("The debt"),
        para(f"{n.product} with {n.current_creditor}, account number {n.account_number}. "
             f"Our reference: {n.reference}."),
        _debt_table(n, "en_GB", (f"Owed on {day}", "Interest since then", "Fees since then",
                                 "Paid or credited since then", "Owed now")),
        heading("If you do not think you owe it"),
        para("Tell us, online or by post, if you do not recognise the debt or think the amount "
             "is wrong. We will stop asking for payment while we look into it and send you "
             f"what we find. Online: {n.portal_url}."),
        heading("Free debt advice"),
        para("If you are struggling, free and independent debt advice can help. You can also "
             "tell us you are getting advice, and we will pause while you do:"),
        *(para(line) for line in UK_ADVICE),
        heading("If you are unhappy with us"),
        para("Tell us first, online or by post. If we have not resolved your complaint within "
             "eight weeks, or you disagree with our final response, you can refer it free of "
             "charge to the Financial Ombudsman Service: www.financial-ombudsman.org.uk, "
             "0800 023 4567."),
        para(f"To see your account, pay or set up a plan: {n.portal_url}."),
        *_sign_in(n, "Sign in there with the reference {reference} and your date of birth."),
    ))


def _cn(n: FirstLetter) -> tuple[Section, Section]:
    day_zh, day_en = _day(n.itemization_date, "zh_Hans_CN"), _day(n.itemization_date, "en")
    chinese = Section("zh", f"关于您在{n.current_creditor}账户的催收告知函", (
        para(f"{n.collector.name}是一家债务催收机构。{n.current_creditor}已书面委托我们就以下账户"
             "与您联系并协商还款；债权仍属于委托方，我们的委托范围仅限于本账户的催收与还款协商。"),
        heading("债务信息"),
        para(f"{n.product}，债权人：{n.current_creditor}，账号：{n.account_number}，"
             f"我们的参考编号：{n.reference}。"),
        _debt_table(n, "zh_Hans_CN", (f"截至{day_zh}的欠款", "此后的利息", "此后的费用",
                                      "此后的还款及减免", "当前欠款")),
        heading("如您有异议"),
        para("如您认为这不是您的债务或金额有误，请通过网上门户或来信告诉我们；核实期间我们将暂停"
             f"催收。网上门户：{n.portal_url}。"),
        *_sign_in(n, "登录网上门户时，请使用参考编号 {reference} 和您的出生日期。"),
        heading("我们如何联系您"),
        para("我们只在每天 08:00 至 22:00 之间联系您；不会向您的亲友或紧急联系人透露您的债务。"),
        heading("投诉"),
        para("如对我们的催收行为不满，可通过网上门户或来信向我们投诉，也可向委托方"
             f"{n.current_creditor}投诉，或拨打国家金融监督管理总局消费者投诉热线 12378。"),
    ))
    english = Section("en", f"About your {n.current_creditor} account", (
        para(f"{n.collector.name} is a debt collection agency. {n.current_creditor} has "
             "instructed us in writing to contact you about this account and agree repayment; "
             "it still owns the debt, and our mandate covers collecting this account only."),
        heading("The debt"),
        para(f"{n.product} with {n.current_creditor}, account number {n.account_number}. "
             f"Our reference: {n.reference}."),
        _debt_table(n, "en", (f"Owed on {day_en}", "Interest since then", "Fees since then",
                              "Paid or credited since then", "Owed now")),
        para("If you do not think you owe it, tell us online or by post: we pause collection "
             f"while we check. Online: {n.portal_url}. We contact you only between 08:00 and "
             "22:00 and never tell your family or contacts about the debt."),
        para("To complain, tell us online or by post, or tell the creditor, or call the "
             "National Financial Regulatory Administration's consumer line, 12378."),
        *_sign_in(n, "To see this account online, go to {url} and sign in with the reference "
                     "{reference} and your date of birth."),
    ))
    return chinese, english


def sections(n: FirstLetter) -> tuple[Section, ...]:
    """The notice, language by language: English first where a translation follows it."""
    if n.kind == "validation_notice":
        return (_us_english(n), _us_spanish(n)) if n.spanish else (_us_english(n),)
    if n.kind == "first_letter_gb":
        return (_gb(n),)
    return _cn(n)


def subject(n: FirstLetter, parts: tuple[Section, ...] | None = None) -> str:
    """The letter's and the email's subject: the first section's title, then the others'
    (`parts`: its `sections`, when already written)."""
    return " / ".join(s.title for s in (parts if parts is not None else sections(n)))


def as_text(parts: tuple[Section, ...]) -> str:
    """Plain text for the email and the letter: "# " starts a heading, a table row is "label
    TAB amount", a tick box "[ ] item"; blocks are separated by blank lines."""
    out = []
    for part in parts:
        out.append(f"# {part.title}")
        for block in part.blocks:
            if block.kind == "heading":
                out.append(f"# {block.text}")
            elif block.kind == "table":
                out.append("\n".join(f"{label}\t{value}" for label, value in block.rows))
            elif block.kind == "checks":
                out.append("\n".join(f"[ ] {item}" for item, _ in block.rows))
            else:
                out.append(block.text)
    return "\n\n".join(out)
