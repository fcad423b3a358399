"""The city's farmer spreadsheet as rows of text: CSV (any of , ; or tab, UTF-8 with or without BOM) or XLSX (the
first sheet). Row numbers are the spreadsheet's own (the header is row 1), for errors a clerk can find."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from hotline.features.farming.errors import RegistryFileError

MAX_ROWS = 100_000  # a sheet this long is not a farmer registry: refuse it rather than read gigabytes


@dataclass(frozen=True)
class Sheet:
    name: str  # the file's name, for errors
    headers: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]  # (row number, header -> cell text)


def read_sheet(data: bytes, filename: str) -> Sheet:
    """Parse by the file's extension (.csv, .xlsx); anything else, or a file that is not what it says, is an error."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".xlsx":
        return _xlsx(data, filename)
    if suffix in (".csv", ".txt"):
        return _csv(data, filename)
    raise RegistryFileError(f"{filename}: not a .csv or .xlsx file")


def _csv(data: bytes, filename: str) -> Sheet:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # Excel's "CSV" on a Windows PC
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    return _sheet(filename, rows)


def _xlsx(data: bytes, filename: str) -> Sheet:
    import zipfile

    from openpyxl import load_workbook  # type: ignore[import-untyped]  # no stubs; one call

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise RegistryFileError(f"{filename}: not a readable XLSX file ({exc})") from None
    sheet = book.worksheets[0]
    rows = [["" if cell is None else _cell(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    book.close()
    return _sheet(filename, rows)


def _cell(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number typed as a number: 81234567890.0 -> 81234567890
    return str(value)


def _sheet(filename: str, rows: list[list[str]]) -> Sheet:
    if not rows or not any(c.strip() for c in rows[0]):
        raise RegistryFileError(f"{filename}: row 1 must hold the column headers; the file has none")
    if len(rows) > MAX_ROWS:
        raise RegistryFileError(f"{filename}: {len(rows)} rows is more than {MAX_ROWS}; split the file")
    headers = tuple(h.strip() for h in rows[0])
    body = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(str(c).strip() for c in row):
            continue  # blank lines at the end of a sheet are no farmers
        body.append((number, {h: (str(row[i]).strip() if i < len(row) else "") for i, h in enumerate(headers) if h}))
    return Sheet(filename, headers, tuple(body))
