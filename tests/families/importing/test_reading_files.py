"""Reading messy real-world files (families.importing.parse and cells) and guessing what their
columns mean (families.importing.mapping)."""

import codecs
import datetime

import pytest

from families.importing import cells, mapping, parse
from tests.families.importing.helpers import read


def test_a_utf8_file_with_a_bom_keeps_quoted_newlines_and_commas():
    parsed = parse.parse_upload(read("families_utf8_bom.csv"))
    assert parsed.encoding == "UTF-8" and parsed.delimiter == ","
    assert parsed.headers[0] == "Family ID"  # no BOM left on the first header
    by_row = dict(parsed.rows)
    assert by_row[2][-1] == "Allergic to nuts.\nPick-up by grandma, Tuesdays."
    assert by_row[3][1] == "Okafor, Jr."
    assert by_row[4][-1] == "Line one\r\nLine two"
    # The blank line is left out but row numbers stay the spreadsheet's.
    assert sorted(by_row) == [2, 3, 4, 6]


def test_excels_unicode_text_is_utf16_with_tabs():
    parsed = parse.parse_upload(read("students_excel_utf16.csv"))
    assert (parsed.encoding, parsed.delimiter) == ("UTF-16", "\t")
    assert parsed.headers[:2] == ["Account #", "Household Name"]
    assert len(parsed.rows) == 6


def test_a_european_excel_file_is_windows_1252_with_semicolons():
    parsed = parse.parse_upload(read("semicolons_cp1252.csv"))
    assert (parsed.encoding, parsed.delimiter) == ("Windows-1252", ";")
    assert dict(parsed.rows)[2][4] == "Chloé Dubois"


def test_excel_text_cells_lose_their_formula_quotes():
    parsed = parse.parse_text('Family,Home\nRivera,="02025550100"\n')
    assert parsed.rows == [(2, ["Rivera", "02025550100"])]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "The file is empty."),
        (b"PK\x03\x04rest-of-a-zip", "Excel workbook (.xlsx)"),
        (b"Family\x00Name\n", "not text"),
        (b"Family,Mother Cell\n\n\n", "no rows to import"),
        (b"\n\nRivera,1\n", "first line of the file is empty"),
        (codecs.BOM_UTF16_LE + b"\x00\xd8", "Unicode text but part of it is not"),
        (b",".join([b"c"] * 301) + b"\n1\n", "301 columns"),
        (b'Family,Notes\nRivera,"' + b"x" * 200_000 + b'"\n', "could not be read as CSV"),
    ],
)
def test_a_file_that_cannot_be_read_says_why(data, words):
    with pytest.raises(parse.ImportFileError) as raised:
        parse.parse_upload(data)
    assert words in str(raised.value)


def test_more_rows_than_the_limit_are_refused(settings):
    settings.IMPORT_MAX_ROWS = 3
    with pytest.raises(parse.ImportFileError) as raised:
        parse.parse_upload(b"Family\nA\nB\nC\nD\n")
    assert "more than 3 rows" in str(raised.value)
    assert len(parse.parse_upload(b"Family\nA\nB\nC\n").rows) == 3


def test_the_default_limit_is_20000_rows():
    data = ("Family\n" + "A\n" * 20_000).encode()
    assert len(parse.parse_upload(data).rows) == 20_000
    with pytest.raises(parse.ImportFileError, match="more than 20,000 rows"):
        parse.parse_upload(data + b"B\n")


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("2015-12-31", "mdy", datetime.date(2015, 12, 31)),
        ("12/31/2015", "mdy", datetime.date(2015, 12, 31)),
        ("31/12/2015", "dmy", datetime.date(2015, 12, 31)),
        ("31.12.2015", "dmy", datetime.date(2015, 12, 31)),
        ("3/4/15", "mdy", datetime.date(2015, 3, 4)),
        ("3/4/15", "dmy", datetime.date(2015, 4, 3)),
        ("Jan 5, 2017", "dmy", datetime.date(2017, 1, 5)),
        ("5 January 2017", "mdy", datetime.date(2017, 1, 5)),
        ("05-Jan-17", "mdy", datetime.date(2017, 1, 5)),
        ("42370", "mdy", datetime.date(2016, 1, 1)),  # an Excel serial day number
        ("42736.0", "mdy", datetime.date(2017, 1, 1)),
        ("3/14/2016 0:00", "mdy", datetime.date(2016, 3, 14)),
        ("2016-03-14 00:00:00", "mdy", datetime.date(2016, 3, 14)),
    ],
)
def test_birth_dates_in_the_formats_people_and_excel_write(text, order, expected):
    assert cells.birth_date(text, order=order) == expected


@pytest.mark.parametrize(
    "text", ["31/12/2015", "2016-13-01", "2015", "soon", "1/2/2999", "1/1/1850"]
)
def test_a_date_that_cannot_be_read_is_refused_in_words(text):
    with pytest.raises(cells.CellError) as raised:
        cells.birth_date(text, order="mdy")
    assert f"“{text}”" in str(raised.value)


def test_the_date_order_is_guessed_from_the_dates_themselves():
    assert cells.date_order_guess(["05/06/2016", "31/12/2015"], "mdy") == "dmy"
    assert cells.date_order_guess(["05/06/2016", "12/31/2015"], "dmy") == "mdy"
    assert cells.date_order_guess(["05/06/2016"], "dmy") == "dmy"


def test_english_headers_are_guessed(org, fields):
    headers = [
        "Family ID",
        "Family Name",
        "Status",
        "Location",
        "Parent 1 First Name",
        "Parent 1 Last Name",
        "Parent 1 Email",
        "Parent 2 Name",
        "Dad Email",
        "Mother Cell",
        "Dad's Mobile",
        "Home Phone",
        "Mother Cell SMS Opt-in",
        "Child First Name",
        "Child Last Name",
        "DOB",
        "Program",
        "Skill Level",
        "Student ID",
        "Text OK",
        "Favourite colour",
    ]
    guessed = mapping.guess_mapping(headers, organization=org, remembered={})
    named = {headers[i]: key for i, key in guessed.items()}
    mother, father, home = (fields[k].pk for k in ("Mother cell", "Father cell", "Home"))
    assert named == {
        "Family ID": "family_external_id",
        "Family Name": "family_name",
        "Status": "family_status",
        "Location": "location",
        "Parent 1 First Name": "g1_first",
        "Parent 1 Last Name": "g1_last",
        "Parent 1 Email": "g1_email",
        "Parent 2 Name": "g2_name",
        "Dad Email": "g2_email",
        "Mother Cell": f"phone:{mother}",
        "Dad's Mobile": f"phone:{father}",
        "Home Phone": f"phone:{home}",
        "Mother Cell SMS Opt-in": f"opt_in:{mother}",
        "Child First Name": "student_first",
        "Child Last Name": "student_last",
        "DOB": "birth_date",
        "Program": "program",
        "Skill Level": "level",
        "Student ID": "student_external_id",
        "Text OK": "opt_in_all",
    }


def test_bare_names_are_the_students_in_a_student_file_and_the_parents_otherwise(org, fields):
    students = mapping.guess_mapping(["First Name", "Last Name", "DOB"], organization=org)
    parents = mapping.guess_mapping(["First Name", "Last Name", "Email"], organization=org)
    assert students == {0: "student_first", 1: "student_last", 2: "birth_date"}
    assert parents == {0: "g1_first", 1: "g1_last", 2: "g1_email"}


def test_a_target_is_given_to_one_column_only(org, fields):
    guessed = mapping.guess_mapping(["Email", "E-mail"], organization=org, remembered={})
    assert guessed == {0: "g1_email"}


def test_the_mapping_is_remembered_per_organization(org, other_org, fields):
    mapping.mapping_remember(
        organization=org,
        headers=["Kid", "Notes"],
        columns={0: "student_first"},
        date_order="dmy",
    )
    assert mapping.guess_mapping(["NOTES", "kid"], organization=org) == {1: "student_first"}
    assert mapping.remembered_date_order(org) == "dmy"
    # Another organization guesses afresh.
    assert mapping.guess_mapping(["NOTES", "kid"], organization=other_org) == {1: "student_name"}
    assert mapping.remembered_date_order(other_org) == "mdy"
