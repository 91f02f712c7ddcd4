"""Redaction of obvious personal data in a question before it is stored.

Staff type questions with client data in them ("Kunde 123A456789 fragt ..."). Before such a text
is written to the database, e-mail addresses, phone numbers, IBANs and customer numbers
(Kundennummer like 123A456789, BG numbers like 12345BG0012345, a number after "Kundennummer",
"BG-Nr.", "Aktenzeichen" ...) become placeholders. The rules are deliberately plain patterns:
they catch the obvious formats, and must leave what a question about the documents is made of
alone (years, dates, times, "§ 16i SGB II", amounts, postcodes). Names cannot be found this way;
that is why recording is off by default.
"""

from __future__ import annotations

import re

EMAIL = "[E-Mail]"
PHONE = "[Telefon]"
IBAN = "[IBAN]"
CUSTOMER = "[Kundennummer]"
BG_NUMBER = "[BG-Nummer]"

_SEP = r"(?:[ \t]?[./-][ \t]?|[ \t])"  # what people put between digit groups: "-", " / ", a space

# Order matters: the specific formats first, so a phone rule never eats half an IBAN.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b", re.IGNORECASE), EMAIL),
    (re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b", re.IGNORECASE), IBAN),
    (re.compile(r"\b\d{3,5}[ ]?BG[ ]?\d{5,7}\b", re.IGNORECASE), BG_NUMBER),
    # A number after a word that announces one ("Kundennummer: 4711-0815", "BG-Nr. 0815", "Az. II-123/24").
    (re.compile(
        r"(?P<word>\b(?:kunden-?(?:nummer|nr\.?)|kd\.?-?nr\.?|bg-?(?:nummer|nr\.?)|bedarfsgemeinschaftsnummer|"
        r"aktenzeichen|az\.|customer\s+(?:number|no\.?|id)|client\s+(?:number|no\.?|id)|case\s+number)"
        r"[ \t]*[:#]?[ \t]*)(?P<number>(?=[A-Z0-9/.-]*\d)[A-Z0-9][A-Z0-9/-]*(?:\.[A-Z0-9/-]+)*)", re.IGNORECASE), CUSTOMER),
    # The customer number of the Bundesagentur: 3 digits, a letter, 6 digits (123A456789).
    (re.compile(r"\b\d{3}[A-Z]\d{6}\b", re.IGNORECASE), CUSTOMER),
    # International: +49 30 1234567, +49 (0)30 123 45 67, 0049 30 1234567, +1-202-555-0142.
    (re.compile(rf"(?<![\w+])(?:\+|00)[1-9]\d{{0,2}}{_SEP}?(?:\(0\){_SEP}?)?\(?\d{{1,5}}\)?(?:{_SEP}?\d{{2,}}){{1,5}}\b"), PHONE),
    # National German: 030 1234567, 030/123 45 67, (030) 12345-678, 0151 23456789, 0800-1234567.
    (re.compile(rf"(?<![\w.,/])(?:\(0\d{{2,5}}\)|0\d{{2,5}}){_SEP}?\d{{3,}}(?:[ -]\d{{2,}})*\b(?![.,/]\d)"), PHONE),
    # A number after "Tel." / "Telefon" / "Handy" / "Mobil" / "phone", whatever its format.
    (re.compile(r"(?P<word>\b(?:tel\.?|telefon(?:nummer)?|handy(?:nummer)?|mobil(?:nummer)?|fax|phone|mobile)[ \t]*[:#]?[ \t]*)"
                rf"(?P<number>\+?\(?\d[\d ()/.-]{{4,}}\d)", re.IGNORECASE), PHONE),
)


class Redactor:
    """Replaces e-mail addresses, phone numbers, IBANs and customer/BG numbers by placeholders."""

    def run(self, text: str) -> str:
        for pattern, placeholder in _RULES:
            if "number" in pattern.groupindex:
                text = pattern.sub(lambda m, p=placeholder: m.group("word") + p, text)
            else:
                text = pattern.sub(placeholder, text)
        return text
