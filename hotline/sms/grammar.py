"""Pure parsing of an inbound SMS against the city's grammar (sms/). No I/O, no database."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from hotline.cityconfig.model import LANGUAGES, Grammar, KecamatanSpec

Kind = Literal["empty", "urc_command", "citizen_command", "menu_choice", "courtesy", "contentless", "report"]

# "TERIMA 12", "terima#12", "Terima : 12 otw" -> word, number, note. The number must follow the word.
_COMMAND = re.compile(r"^\s*([A-Za-z]+)[\s#:.\-]*(\d{1,9})\b[\s,.:;\-]*(.*)$", re.DOTALL)
_LONE_WORD = re.compile(r"^\s*([A-Za-z]+)[\s.!?]*$")
_MENU = re.compile(r"^\s*#?\s*(\d)[\s.)!]*$")
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
MAX_LOCATION = 200


@dataclass(frozen=True)
class ParsedSms:
    kind: Kind
    language: str = LANGUAGES[0]
    command: str | None = None
    command_word: str | None = None
    ticket_number: int | None = None
    note: str = ""
    category: str | None = None
    urgent: bool = False
    location: str | None = None
    desa: str | None = None
    kecamatan: str | None = None
    menu_digit: int | None = None


def normalise(text: str) -> str:
    """Lower case, punctuation to spaces, single spaces: the form keywords are matched in."""
    return " ".join(_NON_WORD.sub(" ", text.lower().replace("_", " ")).split())


def _contains(haystack: str, phrase: str) -> bool:
    needle = normalise(phrase)
    return bool(needle) and f" {needle} " in f" {haystack} "


def _command(text: str, grammar: Grammar) -> ParsedSms | None:
    tables: tuple[tuple[Kind, dict[str, tuple[str, str]]], ...] = (
        ("urc_command", grammar.urc_commands),
        ("citizen_command", grammar.citizen_commands),
    )
    match = _COMMAND.match(text)
    if match:
        word = match.group(1).upper()
        for kind, table in tables:
            if word in table:
                name, lang = table[word]
                note = " ".join(match.group(3).split())
                return ParsedSms(kind, lang, name, word, int(match.group(2)), note)
    lone = _LONE_WORD.match(text)
    if lone:
        word = lone.group(1).upper()
        for kind, table in tables:
            if word in table:
                name, lang = table[word]
                return ParsedSms(kind, lang, name, word)
    return None


def _is_courtesy(norm: str, grammar: Grammar) -> str | None:
    remaining = f" {norm} "
    found = None
    phrases = sorted(((p, lang) for lang, ps in grammar.courtesy.items() for p in ps), key=lambda x: -len(x[0]))
    for phrase, lang in phrases:
        needle = f" {normalise(phrase)} "
        if needle.strip() and needle in remaining:
            remaining = remaining.replace(needle, " ")
            found = found or lang
    return found if found and not remaining.strip() else None


def classify(norm: str, first_word: str, grammar: Grammar) -> tuple[str | None, str | None]:
    """(category, language): a leading keyword decides outright, else the most matched words."""
    for code in grammar.category_order:
        for lang, words in grammar.leading_keywords.get(code, {}).items():
            if first_word in words:
                return code, lang
    best: tuple[int, str | None, str | None] = (0, None, None)
    for code in grammar.category_order:
        score, lang_hits = 0, {lang: 0 for lang in LANGUAGES}
        for lang, phrases in grammar.words.get(code, {}).items():
            for phrase in phrases:
                if _contains(norm, phrase):
                    score += 1
                    lang_hits[lang] += 1
        if score > best[0]:
            lang = max(LANGUAGES, key=lambda candidate: (lang_hits[candidate], candidate == LANGUAGES[0]))
            best = (score, code, lang)
    return best[1], best[2]


# Where a clause ends: , ; ! ? a new line, or a full stop after a number or a word of 4+ letters (not the
# stop of "Jl." "No." "Gg." "Kec.").
_CLAUSES = re.compile(r"\s*[,;!?\n]+\s*|(?:(?<=\w{4})|(?<=\d))\.\s+")
_DIGIT = re.compile(r"\d")


def _says_where(clause: str, grammar: Grammar, areas: tuple[KecamatanSpec, ...], *, words: bool = True) -> bool:
    """Whether words name a place: a number (house, RT, km), a desa or kecamatan of the city, or (`words`)
    a place word (jl, gang, dusun, pasar, ...: sms/keywords.yaml place_words). "depan rumah saya" names none."""
    if _DIGIT.search(clause):
        return True
    norm = normalise(clause)
    if any(_contains(norm, name) for k in areas for name in (k.name, *k.desa)):
        return True
    return words and any(_contains(norm, w) for ws in grammar.place_words.values() for w in ws)


def _run(text: str, start: int, grammar: Grammar, areas: tuple[KecamatanSpec, ...]) -> tuple[str, int] | None:
    """The clauses from `start` that say where, and where they end: the first must say where, the later
    ones only with a number or a desa ("jalan tertutup tanah" is what happened, not where)."""
    kept: list[str] = []
    end, position = start, start
    for stop in [*_CLAUSES.finditer(text, start), None]:
        clause_end = stop.start() if stop else len(text)
        clause = text[position:clause_end].strip()
        if not _says_where(clause, grammar, areas, words=not kept):
            break
        kept.append(clause)
        end = clause_end
        if stop is None:
            break
        position = stop.end()
    place = " ".join(", ".join(kept).split()).strip(" .,;!?")
    return (place, end) if place else None


def _location(text: str, grammar: Grammar, areas: tuple[KecamatanSpec, ...] = ()) -> str | None:
    """The places the text names after location markers ("di", "dekat", "near"), each the words after a
    marker that say where ("di Jl. Diponegoro, Sisir, jalan tertutup" -> "Jl. Diponegoro, Sisir"), joined
    when there are several ("di gudang dekat pasar, asap tebal, di Jl. Diponegoro 12" -> "gudang dekat
    pasar, Jl. Diponegoro 12"). A marker followed by no place ("di depan rumah saya rusak parah") gives
    none; a desa named anywhere is still found (find_place)."""
    markers = [m for words in grammar.location_markers.values() for m in words]
    if not markers:
        return None
    pattern = r"(?i)\b(?:" + "|".join(re.escape(m) for m in sorted(markers, key=len, reverse=True)) + r")\b[\s:]+"
    places: list[str] = []
    taken = 0  # a marker inside a place already taken ("gudang dekat pasar") starts nothing new
    for match in re.finditer(pattern, text):
        if match.start() < taken:
            continue
        run = _run(text, match.end(), grammar, areas)
        if run is not None:
            places.append(run[0])
            taken = run[1]
    return ", ".join(dict.fromkeys(places))[:MAX_LOCATION] or None


def find_place(norm: str, areas: tuple[KecamatanSpec, ...]) -> tuple[str | None, str | None]:
    """(desa, kecamatan) named in the text, longest desa name first; a kecamatan only as 'kecamatan X'."""
    desa_index = sorted(((d, k.name) for k in areas for d in k.desa), key=lambda x: -len(x[0]))
    for desa, kecamatan in desa_index:
        if _contains(norm, desa):
            return desa, kecamatan
    for k in areas:
        for prefix in ("kecamatan", "kec"):
            if _contains(norm, f"{prefix} {k.name}"):
                return None, k.name
    return None, None


def parse_sms(text: str, grammar: Grammar, areas: tuple[KecamatanSpec, ...] = ()) -> ParsedSms:
    text = (text or "").strip()
    if not text:
        return ParsedSms("empty")
    command = _command(text, grammar)
    if command:
        return command
    menu = _MENU.match(text)
    if menu:
        digit = int(menu.group(1))
        return ParsedSms("menu_choice", category=grammar.menu.get(digit), menu_digit=digit)
    norm = normalise(text)
    courtesy_lang = _is_courtesy(norm, grammar)
    if courtesy_lang:
        return ParsedSms("courtesy", courtesy_lang)
    first_word = norm.split(" ", 1)[0].upper() if norm else ""
    category, lang = classify(norm, first_word, grammar)
    urgent_langs = [lang_ for lang_, ws in grammar.urgent.items() for w in ws if _contains(norm, w)]
    desa, kecamatan = find_place(norm, areas)
    location = _location(text, grammar, areas)
    kind: Kind = "report"
    if len(norm.split()) <= 1 and not (category or urgent_langs or desa or kecamatan or location):
        # "halo", "p", "?", an emoji: nothing says what happened or where. Not a report on its own: the
        # intake asks what happened and where (or adds it to the sender's report in progress).
        kind = "contentless"
    return ParsedSms(
        kind,
        lang or (urgent_langs[0] if urgent_langs else LANGUAGES[0]),
        category=category,
        urgent=bool(urgent_langs),
        location=location,
        desa=desa,
        kecamatan=kecamatan,
    )
