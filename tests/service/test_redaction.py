"""Redaction of personal data before a question is stored: many formats caught, nothing else touched."""

from __future__ import annotations

import pytest

from service.redaction import Redactor

redact = Redactor().run


@pytest.mark.parametrize("text, expected", [
    # e-mail addresses
    ("Bitte an max.mustermann@jobcenter-ge.de schreiben", "Bitte an [E-Mail] schreiben"),
    ("Mail: A.B+tag@sub.example.co.uk?", "Mail: [E-Mail]?"),
    ("erika_m@web.de, danke", "[E-Mail], danke"),
    # phone numbers, German and international
    ("Rückruf unter 030 1234567", "Rückruf unter [Telefon]"),
    ("Rückruf unter 030/123 45 67 bitte", "Rückruf unter [Telefon] bitte"),
    ("Nummer (030) 12345-678.", "Nummer [Telefon]."),
    ("Handy 0151 23456789", "Handy [Telefon]"),
    ("ruf 0151-23456789 an", "ruf [Telefon] an"),
    ("Hotline 0800 1234567", "Hotline [Telefon]"),
    ("Kunde erreichbar: +49 30 1234567", "Kunde erreichbar: [Telefon]"),
    ("+49 (0)30 123 45 67 ist die Nummer", "[Telefon] ist die Nummer"),
    ("0049 30 1234567", "[Telefon]"),
    ("+49-151-23456789", "[Telefon]"),
    ("call +1 202 555 0142 please", "call [Telefon] please"),
    ("Tel.: 12 34 56 78", "Tel.: [Telefon]"),
    ("+49 (0) 30 / 12 34 56", "[Telefon]"),
    ("+49 176 12345678", "[Telefon]"),
    ("0176/12345678", "[Telefon]"),
    ("Meine Nummer ist 01761234567.", "Meine Nummer ist [Telefon]."),
    ("Fax 030-12345-99", "Fax [Telefon]"),
    ("Telefon 2345678", "Telefon [Telefon]"),
    # IBANs
    ("IBAN DE89 3704 0044 0532 0130 00 für die Zahlung", "IBAN [IBAN] für die Zahlung"),
    ("DE89370400440532013000", "[IBAN]"),
    ("de89 3704 0044 0532 0130 00", "[IBAN]"),
    ("AT61 1904 3002 3457 3201", "[IBAN]"),
    ("IBAN: DE02 1203 0000 0000 2020 51", "IBAN: [IBAN]"),
    ("CH93 0076 2011 6238 5295 7", "[IBAN]"),
    # BG numbers and customer numbers
    ("BG 12345BG0012345 hat Anspruch?", "BG [BG-Nummer] hat Anspruch?"),
    ("12345 BG 0012345", "[BG-Nummer]"),
    ("Kundennummer 123A456789 fragt nach Terminen", "Kundennummer [Kundennummer] fragt nach Terminen"),
    ("Kunde 123A456789", "Kunde [Kundennummer]"),
    ("Kundennummer: 4711-0815", "Kundennummer: [Kundennummer]"),
    ("Kd.-Nr. 987654", "Kd.-Nr. [Kundennummer]"),
    ("Kundennr. 123D456789", "Kundennr. [Kundennummer]"),
    ("BG-Nummer: 12345BG0012345", "BG-Nummer: [BG-Nummer]"),
    ("BG-Nr. 0815/4711", "BG-Nr. [Kundennummer]"),
    ("Aktenzeichen II-123/24", "Aktenzeichen [Kundennummer]"),
    ("customer number 55501234", "customer number [Kundennummer]"),
    # several in one question
    ("Frau X (x@y.de, 0171 2345678, DE89370400440532013000) fragt",
     "Frau X ([E-Mail], [Telefon], [IBAN]) fragt"),
])
def test_personal_data_is_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "Was gilt nach § 16i SGB II?",
    "Wann war die Fachtagung 2025?",
    "Findet die Tagung am 12.03.2026 statt?",
    "Termine 05.06.2026 bis 07.06.2026",
    "Was geschah vom 1. bis 3. Juni 2024?",
    "Beginn 09:30 Uhr, Ende 16.00 Uhr",
    "Wie hoch ist der Regelsatz von 563 Euro nach SGB XII?",
    "Budget 1.500.000 € für 2025/2026",
    "§ 22 Abs. 1 Satz 3 SGB II und Art. 3 GG",
    "Teilnahme von 120 Personen in 12 Workshops",
    "Tagungsort 10115 Berlin, Raum 0.123",
    "Wer sprach über das Bürgergeld-Gesetz (BGBl. I 2022 S. 2328)?",
    "ISO 9001 und DIN EN 15038",
    "Version 2.3.1 der Software",
    "What happened at the 2024 conference?",
    "Die Kundennummer steht wo im Bescheid?",
    "Wie erreiche ich die Telefon-Hotline?",
    "Gibt es eine E-Mail-Adresse für Rückfragen?",
    "Quote von 0,5 % und 0.25",
    "Raum 2.0.13 im Haus 4",
    "Ab 18:00 Uhr bis 20.30 Uhr",
    "Seite 12-14 und Drucksache 20/1234",
    "BGBl. I S. 2328",
    "Wie viele Teilnehmende waren 2024 und 2025 dabei?",
    "Am 2026-03-12 um 10:00",
])
def test_ordinary_questions_are_left_alone(text: str) -> None:
    assert redact(text) == text
