"""The farmer registry: 3,000 generated farmers imported from CSV and XLSX, re-imports that update without
duplicates, bad sheets refused whole with one line per problem, the CLI, corrections of one farmer."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.features.farming.errors import RegistryFileError, RegistryRejected
from hotline.features.farming.registry import ImportResult, import_farmers, save_farmer
from hotline.features.farming.registry_files import read_sheet
from hotline.models import Farmer
from tests.farmers import HEADERS, farmer_phone, farmer_rows, no_farmers, registry_csv, registry_xlsx  # noqa: F401

ROWS = farmer_rows()
pytestmark = pytest.mark.usefixtures("no_farmers")  # each test starts from an empty registry


def _import(data: bytes, name: str = "petani.csv") -> ImportResult:
    with unit_of_work() as session:
        return import_farmers(session, config=current_config(), sheet=read_sheet(data, name), region="ID", actor="test")


def _count() -> int:
    with unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(Farmer)) or 0


def _rejected(data: bytes, name: str = "petani.csv") -> list[str]:
    with pytest.raises(RegistryRejected) as caught:
        _import(data, name)
    return caught.value.problems


def test_3000_farmers_import_and_a_second_import_changes_nothing(backend: dict[str, str]) -> None:
    assert _import(registry_csv()) == ImportResult(3000, 0, 0)
    assert _import(registry_csv()) == ImportResult(0, 0, 3000)
    assert _count() == 3000
    with unit_of_work() as session:
        farmer = session.scalar(select(Farmer).where(Farmer.phone == farmer_phone(9)))
        assert farmer is not None
        assert (farmer.name, farmer.desa, farmer.kecamatan) == (ROWS[9][0], "Bumiaji", "Bumiaji")
        assert farmer.kelompok_tani == ROWS[9][3] and farmer.land_area_ha == float(ROWS[9][5])


def test_a_corrected_sheet_updates_the_farmers_it_changes_and_adds_new_ones(backend: dict[str, str]) -> None:
    _import(registry_csv())
    changed = list(ROWS)
    for i in (0, 1, 2):  # moved to another kelompok tani; their numbers written the way a clerk types them
        name, phone, desa, _group, crop, ha = changed[i]
        changed[i] = (name, "0" + phone[3:], desa, "Poktan Baru", crop, ha)
    changed.append(("Petani Baru", "0858-9900-9999", "punten", "", "Apel", "1,5"))
    assert _import(registry_csv(tuple(changed))) == ImportResult(1, 3, 2997)
    assert _count() == 3001
    with unit_of_work() as session:
        new = session.scalar(select(Farmer).where(Farmer.phone == "+6285899009999"))
        assert new is not None and (new.desa, new.commodities, new.land_area_ha) == ("Punten", ["apel"], 1.5)


def test_xlsx_imports_like_csv(backend: dict[str, str]) -> None:
    assert _import(registry_xlsx(ROWS[:300]), "Petani Kota Batu.xlsx") == ImportResult(300, 0, 0)
    assert _import(registry_csv(ROWS[:300])) == ImportResult(0, 0, 300)  # the same farmers, no duplicates


def test_numbers_typed_as_numbers_in_excel_keep_their_country(backend: dict[str, str]) -> None:
    from openpyxl import Workbook  # type: ignore[import-untyped]

    book = Workbook()
    sheet = book.active
    sheet.append(list(HEADERS))
    sheet.append(["Pak A", 6285899055501, "Bumiaji", "Poktan A", "apel", 1.5])  # 62... as a number
    sheet.append(["Bu B", 85899055502, "punten", "Poktan B", "Apel, Sayur", 2])  # 0858... lost its 0 in Excel
    out = io.BytesIO()
    book.save(out)
    assert _import(out.getvalue(), "petani.xlsx") == ImportResult(2, 0, 0)
    with unit_of_work() as session:
        farmers = {f.phone: f for f in session.scalars(select(Farmer))}
    assert set(farmers) == {"+6285899055501", "+6285899055502"}  # not +81 (Japan)
    assert (farmers["+6285899055502"].desa, farmers["+6285899055502"].commodities) == ("Punten", ["apel", "sayur"])


def test_a_sheet_with_bad_rows_imports_nothing_and_says_every_row(backend: dict[str, str]) -> None:
    _import(registry_csv(ROWS[:10]))
    bad = list(ROWS[:50])
    bad[3] = (bad[3][0], "12345", *bad[3][2:])  # row 5
    bad[7] = (bad[7][0], bad[7][1], "Atlantis", *bad[7][3:])  # row 9
    bad[10] = bad[2]  # row 12: the farmer of row 4 again
    bad[20] = (*bad[20][:4], "durian", bad[20][5])  # row 22
    bad[30] = (*bad[30][:5], "dua hektar")  # row 32
    bad[40] = ("", *bad[40][1:])  # row 42
    bad[0] = (bad[0][0], bad[0][1], bad[0][2], "Poktan Diubah", bad[0][4], bad[0][5])  # a fine change, not applied
    problems = _rejected(registry_csv(tuple(bad)))
    assert problems == [
        "petani.csv:5: phone '12345' is not a valid number",
        "petani.csv:9: desa 'Atlantis' is not in routing/areas.yaml",
        f"petani.csv:12: {ROWS[2][1]} is the farmer of row 4 again",
        "petani.csv:22: commodity 'durian' is unknown (known: apel, sayur, bunga)",
        "petani.csv:32: land area 'dua hektar' is not a number of hectares",
        "petani.csv:42: name is empty",
    ]
    assert _count() == 10  # nothing of the bad sheet, and the registry as it was
    with unit_of_work() as session:
        first = session.scalar(select(Farmer).where(Farmer.phone == ROWS[0][1]))
        assert first is not None and first.kelompok_tani == ROWS[0][3]


def test_missing_columns_are_named_and_nothing_is_imported(backend: dict[str, str]) -> None:
    headers = tuple(h for h in HEADERS if h != "No HP")
    rows = tuple(tuple(v for i, v in enumerate(r) if i != 1) for r in ROWS[:5])
    problems = _rejected(registry_csv(rows, headers))
    assert problems[0] == "petani.csv:1: missing column 'No HP' (for phone)"
    assert problems[1].startswith("petani.csv:1: the columns found are: Nama, Desa")
    assert _count() == 0


def test_files_that_are_no_spreadsheet_are_refused(backend: dict[str, str]) -> None:
    with pytest.raises(RegistryFileError, match="not a readable XLSX"):
        read_sheet(b"this is text", "petani.xlsx")
    with pytest.raises(RegistryFileError, match=r"not a \.csv or \.xlsx"):
        read_sheet(b"x", "petani.pdf")
    with pytest.raises(RegistryFileError, match="row 1 must hold the column headers"):
        read_sheet(b"", "petani.csv")


def test_cli_import_list_export_round_trip(backend: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    sheet = tmp_path / "petani.csv"
    sheet.write_bytes(registry_csv(ROWS[:40]))
    done = runner.invoke(app, ["farmers", "import", str(sheet)])
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == "40 added, 0 updated, 0 unchanged"
    listed = runner.invoke(app, ["farmers", "list", "--desa", "Bumiaji"])
    assert [line.split("\t")[1] for line in listed.stdout.splitlines()] == sorted(
        (r[1] for r in ROWS[:40] if r[2] == "Bumiaji"), key=lambda p: next(r[0] for r in ROWS if r[1] == p)
    )
    out = tmp_path / "export.csv"
    assert runner.invoke(app, ["farmers", "export", "-o", str(out)]).exit_code == 0
    again = runner.invoke(app, ["farmers", "import", str(out)])
    assert again.stdout.strip() == "0 added, 0 updated, 40 unchanged"  # the export imports back unchanged
    bad = tmp_path / "bad.csv"
    bad.write_bytes(registry_csv(((ROWS[0][0], "abc", *ROWS[0][2:]),)))
    refused = runner.invoke(app, ["farmers", "import", str(bad)])
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "bad.csv:2: phone 'abc' is not a valid number" in refused.stderr


def test_a_farmer_is_added_and_corrected_one_at_a_time(backend: dict[str, str]) -> None:
    config = current_config()
    raw = {"name": "Bu Sri", "phone": "085899011111", "desa": "Tulungrejo", "commodities": "apel, bunga"}
    with unit_of_work() as session:
        farmer = save_farmer(session, config=config, raw=raw, region="ID", actor="operator1")
        farmer_id = farmer.id
    with unit_of_work() as session:
        fixed = save_farmer(
            session, config=config, raw={**raw, "desa": "Punten"}, region="ID", actor="operator1", farmer_id=farmer_id
        )
        assert (fixed.desa, fixed.kecamatan, fixed.commodities, fixed.updated_by) == (
            "Punten",
            "Bumiaji",
            ["apel", "bunga"],
            "operator1",
        )
        save_farmer(session, config=config, raw={**raw, "phone": "085899022222"}, region="ID", actor="x")
    with unit_of_work() as session, pytest.raises(RegistryRejected, match="already the number of farmer"):
        save_farmer(
            session, config=config, raw={**raw, "phone": "085899022222"}, region="ID", actor="x", farmer_id=farmer_id
        )
    assert _count() == 2
