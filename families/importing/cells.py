"""What one cell of an import means: yes/no words, status words, and dates as people and Excel
write them. Each reader returns a value or raises ``CellError`` with the words shown next to
the row and column.

Dates: ISO (2015-03-31), numbers with slashes, dashes or dots read in the import's date
order (month first, 03/31/2015, or day first, 31/03/2015; two-digit years are this century up
to this year, the last century after it), month names (Mar 31, 2015; 31 March 2015;
31-Mar-15), an Excel serial day number (42094, from a cell formatted as a number), and any of
those followed by a midnight time ("3/31/2015 0:00"). A birth date in the future or before
1900 is refused.
"""

from __future__ import annotations

import datetime
import re

from django.utils import timezone

YES = {
    "yes",
    "y",
    "true",
    "t",
    "1",
    "x",
    "✓",
    "ok",
    "opted in",
    "opt in",
    "on",
    "agreed",
    "mobile",
    "cell",
}
NO = {"no", "n", "false", "f", "0", "off", "opted out", "opt out", "landline", "none"}
FAMILY_STATUS = {
    "active": "active",
    "current": "active",
    "enrolled": "active",
    "yes": "active",
    "inactive": "inactive",
    "former": "inactive",
    "dropped": "inactive",
    "withdrawn": "inactive",
    "archived": "inactive",
    "no": "inactive",
}
STUDENT_STATUS = {
    "active": "active",
    "current": "active",
    "enrolled": "active",
    "waitlist": "waitlist",
    "wait list": "waitlist",
    "waitlisted": "waitlist",
    "waiting": "waitlist",
    "inactive": "inactive",
    "former": "inactive",
    "dropped": "inactive",
    "withdrawn": "inactive",
}
MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
EXCEL_EPOCH = datetime.date(1899, 12, 30)
_TIME = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?( ?[ap]\.?m\.?)?$", re.IGNORECASE)
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_NUMERIC = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})$")
_SERIAL = re.compile(r"^(\d{5})(\.0+)?$")
_WORDS = re.compile(r"[A-Za-z]+|\d+")


class CellError(ValueError):
    pass


def _words(value: str) -> str:
    return re.sub(r"[\s_-]+", " ", value.strip().lower())


def yes_no(value: str) -> bool:
    word = _words(value)
    if word in YES:
        return True
    if word in NO:
        return False
    raise CellError(f"“{value}” is not yes or no.")


def family_status(value: str) -> str:
    """Our status for a word a school writes; an unknown word is passed on so the family form
    refuses it in its own words."""
    return FAMILY_STATUS.get(_words(value), value)


def student_status(value: str) -> str:
    return STUDENT_STATUS.get(_words(value), value)


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        this_year = timezone.localdate().year % 100
        year += 2000 if year <= this_year else 1900
    return year


def _date(year: int, month: int, day: int) -> datetime.date:
    return datetime.date(year, month, day)


def _numeric(text: str, order: str) -> datetime.date:
    match = _ISO.match(text)
    if match:
        return _date(int(match[1]), int(match[2]), int(match[3]))
    match = _NUMERIC.match(text)
    if match:
        first, second, year = int(match[1]), int(match[2]), _year(match[3])
        month, day = (first, second) if order == "mdy" else (second, first)
        return _date(year, month, day)
    match = _SERIAL.match(text)
    if match:
        return EXCEL_EPOCH + datetime.timedelta(days=int(match[1]))
    raise ValueError


def _named_month(text: str) -> datetime.date:
    parts = _WORDS.findall(text)
    months = [p for p in parts if p.lower() in MONTHS]
    numbers = [p for p in parts if p.isdigit()]
    if len(months) != 1 or len(numbers) != 2 or len(parts) != 3:
        raise ValueError
    month = MONTHS[months[0].lower()]
    # "Mar 31 2015", "31 Mar 2015", "31-Mar-15": the year is the last number, or the 4-digit one.
    day_text, year_text = numbers if len(numbers[1]) >= len(numbers[0]) else numbers[::-1]
    return _date(_year(year_text), month, int(day_text))


def birth_date(value: str, *, order: str) -> datetime.date:
    text = _TIME.sub("", value.strip()).strip().rstrip(",")
    try:
        date = _named_month(text) if re.search(r"[A-Za-z]", text) else _numeric(text, order)
    except (ValueError, OverflowError):
        example = "12/31/2015" if order == "mdy" else "31/12/2015"
        first = "month" if order == "mdy" else "day"
        raise CellError(
            f"“{value}” is not a date (dates are read {first} first, e.g. {example}, or as "
            "2015-12-31)."
        ) from None
    if date > timezone.localdate():
        raise CellError(f"“{value}” is in the future; a date of birth cannot be.")
    if date.year < 1900:
        raise CellError(f"“{value}” is before 1900; check the year.")
    return date


def date_order_guess(values: list[str], default: str) -> str:
    """Day first if some date can only be read day first (31/12/…), month first if some can
    only be read month first (12/31/…); otherwise the default."""
    day_first = month_first = False
    for value in values:
        match = _NUMERIC.match(_TIME.sub("", value.strip()))
        if match:
            first, second = int(match[1]), int(match[2])
            day_first |= first > 12 >= second
            month_first |= second > 12 >= first
    if day_first and not month_first:
        return "dmy"
    if month_first and not day_first:
        return "mdy"
    return default
