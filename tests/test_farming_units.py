"""routing/farming.yaml checked with file:line errors, the words that name a sub-category and a commodity, and
the PPL teams the loader makes."""

from __future__ import annotations

from pathlib import Path

from hotline.cityconfig import load_city_config
from hotline.cityconfig.farming import ppl_urc_code
from hotline.features.farming.recognise import commodity_in, subcategory_of
from hotline.features.farming.ticket_facts import hide_words
from tests.city_files import config_errors, copy_city, edit
from tests.suite_city import CITY_DIR

FILE = "routing/farming.yaml"


def test_sub_category_by_keyword_first_then_by_words() -> None:
    rules = load_city_config(CITY_DIR).farming
    assert subcategory_of(rules, "TANI HAMA kutu daun di kebun apel") == "hama"
    assert subcategory_of(rules, "TANI PUPUK urea langka, ada hama juga") == "pupuk"  # the keyword decides
    assert subcategory_of(rules, "apel saya busuk buah semua") == "hama"  # a phrase anywhere
    assert subcategory_of(rules, "TANI irigasi macet, kekeringan") == "air"
    assert subcategory_of(rules, "TANI tolong datang") is None
    assert commodity_in(rules, "kutu daun di kebun apel") == "apel"
    assert commodity_in(rules, "ulat di kubis") == "sayur"
    assert commodity_in(rules, "mawar layu") == "bunga"
    assert commodity_in(rules, "tolong") is None


def test_the_loader_makes_a_ppl_team_per_desa_and_per_desa_and_commodity() -> None:
    config = load_city_config(CITY_DIR)
    farm = config.farming
    assert len(farm.officers) == 80
    assert farm.ppl_urc("Bumiaji", "apel") == ppl_urc_code("Bumiaji", "apel") == "PPL-DESA-BUMIAJI-APEL"
    assert farm.ppl_urc("Bumiaji", "sayur") == farm.ppl_urc("Bumiaji", None) == "PPL-DESA-BUMIAJI"
    assert farm.ppl_urc("Oro-Oro Ombo", None) == "PPL-DESA-ORO-ORO-OMBO"
    assert farm.ppl_urc("Tlekung", "apel") is None  # Junrejo's desa have no PPL here: routing/rules.yaml decides
    distan = config.agency("DISTAN")
    assert distan is not None
    team = next(u for u in distan.urcs if u.code == "PPL-DESA-BUMIAJI")
    assert [m.role for m in team.members] == ["leader", "member", "member", "member"]


def test_mistakes_in_farming_yaml_are_reported_at_their_line(tmp_path: Path) -> None:
    city = copy_city(tmp_path)
    path = city / FILE
    desa_line = edit(path, "desa: [Punten]}", "desa: [Puntenn]}")
    agency_line = edit(path, "agency: DISTAN", "agency: DISTANN")
    phone_line = edit(path, 'phone: "+6285700000551"', 'phone: "12"')
    text_line = edit(path, "({kelompok_tani}, {commodity}", "({kelompok}, {commodity}")
    sub_line = edit(path, "subcategories: [hama, cuaca]", "subcategories: [hama, banjir]")
    errors = config_errors(city)
    assert f"{FILE}:{desa_line}: desa Puntenn is not in routing/areas.yaml (fix: check spelling)" in errors
    assert (
        f"{FILE}:{agency_line}: agency DISTANN is not in routing/agencies.yaml (fix: name the agriculture office)"
        in errors
    )
    assert any(e.startswith(f"{FILE}:{phone_line}: '12' is not a valid phone number") for e in errors)
    assert any(e.startswith(f"{FILE}:{text_line}: unknown field(s) ['kelompok']") for e in errors)
    assert any(e.startswith(f"{FILE}:{sub_line}: sub-category banjir is not listed") for e in errors)


def test_a_missing_registry_column_and_an_unknown_key_are_reported(tmp_path: Path) -> None:
    city = copy_city(tmp_path)
    path = city / FILE
    line = edit(path, "    name: Nama\n", "")
    assert f"{FILE}:{line - 1}: no column given for 'name' (fix: add 'name: <the spreadsheet's header>')" in (
        config_errors(city)
    )
    line = edit(path, "outbreak:\n  reports: 5", "outbreak:\n  report: 5")
    errors = config_errors(city)  # a key the schema does not know is reported first, at its own line
    assert any(e.startswith(f"{FILE}:{line + 1}: outbreak.report: Extra inputs") for e in errors), errors


def test_a_coordinator_step_without_coordinators_is_refused_at_its_line(tmp_path: Path) -> None:
    city = copy_city(tmp_path)
    text = (city / FILE).read_text()
    start, end = text.index("coordinators:\n"), text.index("# N reports")
    (city / FILE).write_text(text[:start] + text[end:])
    line = edit(city / "routing" / "escalation.yaml", "notify: [ppl_coordinator]", "notify: [ppl_coordinator]")
    assert (
        f"routing/escalation.yaml:{line}: ppl_coordinator is notified, but routing/farming.yaml lists no coordinators"
        " (fix: add 'coordinators:' (kecamatan -> name and phone) to routing/farming.yaml)"
    ) in config_errors(city)


def test_a_ppl_team_code_taken_in_agencies_yaml_is_refused(tmp_path: Path) -> None:
    city = copy_city(tmp_path)
    edit(city / "routing" / "agencies.yaml", "code: DISTAN-POSKO", "code: PPL-DESA-TEMAS")
    errors = config_errors(city)
    assert any("URC PPL-DESA-TEMAS is made here and also listed in routing/agencies.yaml" in e for e in errors)


def test_the_farmer_is_masked_in_a_message_longest_name_first() -> None:
    alert = "Petani Sri Rahayu (Poktan Sri, Apel, Bumiaji): Hama dan penyakit."
    words = ("Sri", "Sri Rahayu", "Poktan Sri")  # shortest first: "Sri" must not leave "Rahayu" behind
    assert hide_words(alert, words, "[x]") == "Petani [x] ([x], Apel, Bumiaji): Hama dan penyakit."
    assert hide_words(alert, (), "[x]") == alert
