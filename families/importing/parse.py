"""Reading an uploaded file into a header and rows of strings: its encoding (UTF-8, UTF-8 with
a BOM, Excel's UTF-16 with a BOM, else Windows-1252 as Excel writes "CSV" on Windows), its
delimiter (comma, semicolon or tab, detected), quoted cells with newlines, and the limits.

Nothing here knows our fields; a file that cannot be read raises ImportFileError with a
sentence for the person who uploaded it.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field

from django.conf import settings

DELIMITERS = (",", ";", "\t")
MAX_COLUMNS = 300
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
# Excel writes a text cell that looks like a number as ="00123" so that it keeps its zeros.
EXCEL_TEXT = re.compile(r'^="(.*)"$', re.DOTALL)


class ImportFileError(Exception):
    """The file cannot be imported at all; the message says why and what to do."""


@dataclass
class ParsedFile:
    headers: list[str]
    # (row number as a spreadsheet shows it: the header is row 1, cells), blank rows left out.
    rows: list[tuple[int, list[str]]]
    encoding: str
    delimiter: str
    warnings: list[str] = field(default_factory=list)

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES[self.delimiter]


def max_rows() -> int:
    return settings.IMPORT_MAX_ROWS


def max_bytes() -> int:
    return settings.IMPORT_MAX_BYTES


def decode(data: bytes) -> tuple[str, str]:
    """The text and the name of its encoding."""
    if data.startswith(b"PK\x03\x04"):
        raise ImportFileError(
            "This looks like an Excel workbook (.xlsx), not a CSV file. In Excel choose "
            "File > Save As > CSV UTF-8, then upload that file."
        )
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(encoding), "UTF-16" if encoding == "utf-16" else "UTF-8"
            except UnicodeDecodeError:
                raise ImportFileError(
                    "The file says it is Unicode text but part of it is not; save it again as "
                    "CSV UTF-8 and upload that."
                ) from None
    try:
        text, encoding = data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        text, encoding = data.decode("cp1252", errors="replace"), "Windows-1252"
    if "\x00" in text:
        raise ImportFileError(
            "This file is not text (it has NUL bytes): upload a CSV file, for example saved from "
            "Excel with File > Save As > CSV UTF-8."
        )
    return text, encoding


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most columns, the same number on
    each line (a comma inside a quoted name does not count)."""
    sample = text[:65536]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        records = []
        reader = csv.reader(io.StringIO(sample), delimiter=delimiter)
        try:
            for record in reader:
                records.append(len(record))
                if len(records) >= 20:
                    break
        except csv.Error:
            continue
        if not records:
            continue
        width = records[0]
        steady = sum(1 for count in records if count == width)
        score = (width if width > 1 else 0, steady)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def clean_cell(value: str) -> str:
    value = value.strip()
    match = EXCEL_TEXT.match(value)
    if match:
        value = match.group(1).strip()
    return value


def unique_headers(raw: list[str]) -> list[str]:
    """Headers as shown to people: blank ones named by their column, repeated ones numbered."""
    headers: list[str] = []
    seen: dict[str, int] = {}
    for index, header in enumerate(raw, start=1):
        name = clean_cell(header) or f"Column {index}"
        key = name.lower()
        seen[key] = seen.get(key, 0) + 1
        headers.append(name if seen[key] == 1 else f"{name} ({seen[key]})")
    return headers


def parse_text(text: str) -> ParsedFile:
    return _parse(text, encoding="UTF-8")


def parse_upload(data: bytes) -> ParsedFile:
    """Read an uploaded file, or raise ImportFileError."""
    if not data.strip():
        raise ImportFileError("The file is empty.")
    if len(data) > max_bytes():
        raise ImportFileError(
            f"The file is {len(data) / 1_048_576:.1f} MB; an import takes files of up to "
            f"{max_bytes() // 1_048_576} MB. Split it and import the parts one after another."
        )
    text, encoding = decode(data)
    return _parse(text, encoding=encoding)


def _parse(text: str, *, encoding: str) -> ParsedFile:
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    limit = max_rows()
    try:
        header_row = next(reader, None)
        if header_row is None or not any(cell.strip() for cell in header_row):
            raise ImportFileError(
                "The first line of the file is empty: it should name the columns "
                '("Family Name", "Mother Cell"…).'
            )
        headers = unique_headers(header_row)
        if len(headers) > MAX_COLUMNS:
            raise ImportFileError(
                f"The file has {len(headers):,} columns; an import takes up to {MAX_COLUMNS}. "
                "Is it really a CSV file? Leave out the columns you do not import."
            )
        rows: list[tuple[int, list[str]]] = []
        warnings: list[str] = []
        for number, record in enumerate(reader, start=2):
            cells = [clean_cell(cell) for cell in record]
            if not any(cells):
                continue
            if len(rows) >= limit:
                raise ImportFileError(
                    f"The file has more than {limit:,} rows; an import takes up to {limit:,}. "
                    "Split it and import the parts one after another."
                )
            if len(cells) > len(headers) and any(cells[len(headers) :]):
                warnings.append(
                    f"Row {number} has {len(cells)} cells but the header names {len(headers)} "
                    "columns; the extra cells are ignored."
                )
            cells = (cells + [""] * len(headers))[: len(headers)]
            rows.append((number, cells))
    except csv.Error as error:
        raise ImportFileError(
            f"The file could not be read as CSV near line {reader.line_num}: {error}."
        ) from None
    if not rows:
        raise ImportFileError("The file has a header but no rows to import.")
    return ParsedFile(
        headers=headers, rows=rows, encoding=encoding, delimiter=delimiter, warnings=warnings
    )
