"""A generated farmer registry for the suite (not real people): 3,000 farmers of the suite city's desa, with
made-up numbers (+62858990xxxxx, a range no other test uses), as the city's spreadsheet would hold them."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from functools import cache

import pytest

from tests.suite_city import CITY_DIR

HEADERS = ("Nama", "No HP", "Desa", "Kelompok Tani", "Komoditas", "Luas Lahan (ha)")  # tests/city/routing/farming.yaml
GIVEN = ("Slamet", "Sutrisno", "Wahyudi", "Supriadi", "Siti", "Sri", "Agus", "Budi", "Endang", "Joko", "Lestari")
FAMILY = ("Hadi", "Santoso", "Wibowo", "Rahayu", "Susanto", "Purnomo", "Kusuma", "Nugroho", "Wati", "Prasetyo")
APPLE_DESA = frozenset({"Bulukerto", "Bumiaji", "Giripurno", "Gunungsari", "Punten", "Sumbergondo", "Tulungrejo"})


def farmer_phone(i: int) -> str:
    return f"+62858990{i:05d}"


@cache
def desa_list() -> tuple[str, ...]:
    import yaml

    areas = yaml.safe_load((CITY_DIR / "routing" / "areas.yaml").read_text())
    return tuple(d for k in areas["kecamatan"] for d in k["desa"])


@cache
def farmer_rows(count: int = 3000) -> tuple[tuple[str, ...], ...]:
    """Deterministic rows: farmer i lives in desa i mod 24; apple growers in the apple desa, else vegetables or
    flowers; one kelompok tani per 25 farmers of a desa."""
    rnd = random.Random(22)
    rows = []
    desa = desa_list()
    for i in range(count):
        home = desa[i % len(desa)]
        crop = "apel" if home in APPLE_DESA and (i // len(desa)) % 3 else rnd.choice(("sayur", "bunga", "sayur, bunga"))
        name = f"{GIVEN[i % len(GIVEN)]} {FAMILY[(i // len(GIVEN)) % len(FAMILY)]} {i}"
        group = f"Poktan {home} {i // (len(desa) * 25) + 1}"
        rows.append((name, farmer_phone(i), home, group, crop, f"{rnd.uniform(0.1, 3):.2f}"))
    return tuple(rows)


def registry_csv(rows: tuple[tuple[str, ...], ...] | None = None, headers: tuple[str, ...] = HEADERS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(farmer_rows() if rows is None else rows)
    return out.getvalue().encode()


def registry_xlsx(rows: tuple[tuple[str, ...], ...] | None = None, headers: tuple[str, ...] = HEADERS) -> bytes:
    from openpyxl import Workbook  # type: ignore[import-untyped]

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Petani")
    sheet.append(list(headers))
    for row in farmer_rows() if rows is None else rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def import_registry(rows: tuple[tuple[str, ...], ...] | None = None) -> None:
    """Import the generated registry through the feature, as `hotline farmers import` does."""
    from hotline.core.city import current_config
    from hotline.db import unit_of_work
    from hotline.features.farming.registry import import_farmers
    from hotline.features.farming.registry_files import read_sheet

    with unit_of_work() as session:
        sheet = read_sheet(registry_csv(rows), "petani.csv")
        import_farmers(session, config=current_config(), sheet=sheet, region="ID", actor="test")


def empty_registry() -> None:
    """No farmers (the conftest's `clean` leaves the registry alone: importing 3,000 per test costs seconds)."""
    from sqlalchemy import delete

    from hotline.db import unit_of_work
    from hotline.models import Farmer, FarmReport

    with unit_of_work() as session:
        session.execute(delete(FarmReport))
        session.execute(delete(Farmer))


@pytest.fixture(scope="module")
def registry(backend: dict[str, str]) -> Iterator[None]:
    """The 3,000 generated farmers, imported once for the module and removed after it."""
    empty_registry()
    import_registry()
    yield
    empty_registry()


@pytest.fixture
def no_farmers(backend: dict[str, str]) -> Iterator[None]:
    """An empty registry for the test, and none left behind for the next module's tests."""
    empty_registry()
    yield
    empty_registry()
