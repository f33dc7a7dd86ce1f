"""The import's forms: the upload, and the mapping (a choice of our field per column, the date
order, and the consent basis an opt-in column needs). They check the admin's choices; the
cells themselves are checked by ``plan`` with the directory's own cleaners."""

from __future__ import annotations

from django import forms

from families.importing.mapping import DATE_ORDERS, Target

OPT_IN_PREFIXES = ("opt_in:", "opt_in_all")
NAME_SOURCES = {
    "family_name",
    "g1_last",
    "g1_name",
    "g2_last",
    "g2_name",
    "student_last",
    "student_name",
}


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8 or Excel's CSV or Unicode text; comma, semicolon or tab; up to "
        "20,000 rows.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,text/csv"}),
        error_messages={
            "required": "Choose a CSV file to upload.",
            "empty": "The file is empty.",
        },
    )


def _choices(targets: list[Target]) -> list:
    groups: dict[str, list[tuple[str, str]]] = {}
    for target in targets:
        groups.setdefault(target.group, []).append((target.key, target.label))
    return [("", "— Leave out —"), *groups.items()]


def _distinct(values) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))


class MappingForm(forms.Form):
    date_order = forms.ChoiceField(
        choices=list(DATE_ORDERS.items()),
        label="Dates like 05/06/2016 are",
        help_text="ISO dates (2016-06-05), month names and Excel day numbers are read either way.",
    )
    consent_basis = forms.CharField(
        required=False,
        max_length=600,
        label="How did these parents consent to text messages?",
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "placeholder": "e.g. Parents ticked “I agree to receive text messages” on our "
                "paper enrollment form; forms dated Aug 2023 – Jan 2025, kept in the office.",
            }
        ),
    )
    consent_confirmed = forms.BooleanField(
        required=False,
        label="I confirm these parents gave this consent and that we keep the evidence",
    )

    def __init__(
        self,
        *args,
        headers: list[str],
        samples: list[list[str]],
        targets: list[Target],
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.headers = headers
        self.samples = samples
        self.labels = {t.key: t.label for t in targets}
        choices = _choices(targets)
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                choices=choices, required=False, label=header
            )

    def columns_rows(self) -> list[tuple[forms.BoundField, list[str]]]:
        return [
            (self[f"col_{index}"], _distinct(row[index] for row in self.samples)[:3])
            for index in range(len(self.headers))
        ]

    def clean(self) -> dict:
        cleaned = super().clean()
        used: dict[str, int] = {}
        for index in range(len(self.headers)):
            key = cleaned.get(f"col_{index}")
            if not key:
                continue
            if key in used:
                self.add_error(
                    f"col_{index}",
                    f"{self.labels[key]} is already filled from the column "
                    f"“{self.headers[used[key]]}”; choose one column for it.",
                )
            used.setdefault(key, index)
        self._check_sources(set(used))
        if any(key.startswith(OPT_IN_PREFIXES) for key in used):
            if not (cleaned.get("consent_basis") or "").strip():
                self.add_error(
                    "consent_basis",
                    "A column opts numbers in to texts: say how these parents gave consent, "
                    "or leave that column out (the numbers are then imported not opted in).",
                )
            if not cleaned.get("consent_confirmed"):
                self.add_error(
                    "consent_confirmed",
                    "Tick the box to confirm the parents gave this consent, or leave the "
                    "opt-in column out.",
                )
        return cleaned

    def _check_sources(self, used: set[str]) -> None:
        if not used & NAME_SOURCES and "family_external_id" not in used:
            self.add_error(
                None,
                "Map a column to the family name (or to a guardian's or a "
                "student's last name, which then names the family).",
            )
        for key in used:
            kind, _, field_id = key.partition(":")
            if kind in ("text_capable", "opt_in") and f"phone:{field_id}" not in used:
                label = self.labels[key].rsplit(":", 1)[0]
                self.add_error(
                    None,
                    f"{self.labels[key]} is mapped but {label}'s number is "
                    "not: map the number's column too.",
                )

    def columns(self) -> dict[int, str]:
        return {
            index: self.cleaned_data[f"col_{index}"]
            for index in range(len(self.headers))
            if self.cleaned_data.get(f"col_{index}")
        }

    def consent_basis_value(self) -> str:
        if not any(key.startswith(OPT_IN_PREFIXES) for key in self.columns().values()):
            return ""
        return self.cleaned_data["consent_basis"].strip()
