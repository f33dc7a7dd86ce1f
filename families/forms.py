"""Forms of the family, staff and settings pages: they check the shape of the input; the rules
(organization, required fields, consent) are the services'. Choice lists come from the
request's organization only."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from families.models import Family, Location, PhoneField, Program, Student
from families.phones import phone_parse
from smsvoice.models import Organization, StaffMember


def add_service_error(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: under the field it names when the form
    has that field, at the top otherwise."""
    if hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


class FamilyForm(forms.Form):
    name = forms.CharField(max_length=120)
    status = forms.ChoiceField(choices=Family.Status.choices)
    location = forms.ModelChoiceField(
        queryset=Location.objects.none(), required=False, empty_label="No location"
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, organization: Organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = Location.objects.for_org(organization)


class FamilyCreateForm(FamilyForm):
    """A new family with a number for each Family Template field (``phone_<field id>``)."""

    def __init__(self, *args, organization: Organization, **kwargs) -> None:
        super().__init__(*args, organization=organization, **kwargs)
        self.country = organization.country
        self.phone_fields = list(PhoneField.objects.for_org(organization).order_by("order", "id"))
        for phone_field in self.phone_fields:
            self.fields[f"phone_{phone_field.pk}"] = forms.CharField(
                label=phone_field.label,
                required=phone_field.required,
                max_length=40,
                widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
                error_messages={"required": f"{phone_field.label} is required."},
            )

    def clean(self) -> dict:
        cleaned = super().clean()
        for phone_field in self.phone_fields:
            name = f"phone_{phone_field.pk}"
            raw = cleaned.get(name)
            if raw:
                try:
                    phone_parse(raw, country=self.country)
                except ValidationError as exc:
                    self.add_error(name, exc)
        return cleaned

    def phone_inputs(self) -> list[forms.BoundField]:
        return [self[f"phone_{f.pk}"] for f in self.phone_fields]

    def phones(self) -> dict[int, str]:
        return {f.pk: self.cleaned_data.get(f"phone_{f.pk}", "") for f in self.phone_fields}


class GuardianForm(forms.Form):
    first_name = forms.CharField(max_length=60)
    last_name = forms.CharField(max_length=60, required=False)
    email = forms.EmailField(required=False)


class StudentForm(forms.Form):
    first_name = forms.CharField(max_length=60)
    last_name = forms.CharField(max_length=60, required=False)
    birth_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Date of birth"
    )
    program = forms.ModelChoiceField(
        queryset=Program.objects.none(), required=False, empty_label="No program"
    )
    level = forms.CharField(max_length=40, required=False)
    status = forms.ChoiceField(choices=Student.Status.choices)

    def __init__(self, *args, organization: Organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = Program.objects.for_org(organization)


class PhoneSetForm(forms.Form):
    """The number in one Family Template field; empty removes it (unless the field is required)."""

    number = forms.CharField(
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )


class TextsOnForm(forms.Form):
    confirm = forms.BooleanField(
        label="I confirm this customer gave consent to receive texts",
        error_messages={
            "required": "Tick the box to confirm this customer gave consent to receive texts."
        },
    )
    note = forms.CharField(
        max_length=300,
        required=False,
        label="Note (optional)",
        widget=forms.TextInput(attrs={"placeholder": "e.g. written consent on file"}),
    )


class StaffMemberForm(forms.Form):
    first_name = forms.CharField(max_length=60)
    last_name = forms.CharField(max_length=60, required=False)
    title = forms.CharField(max_length=80, required=False)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=StaffMember.Role.choices)
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    can_log_in = forms.BooleanField(
        required=False,
        label="Can log in to smsvoice",
        help_text="Their email is their login; new logins get an email to set a password.",
    )
    # Permissions (issue 13): admins have both whatever is ticked here.
    can_send_texts = forms.BooleanField(
        required=False,
        initial=True,
        label="Can send texts",
        help_text="Compose and send broadcasts, reply in the messenger.",
    )
    can_view_text_logs = forms.BooleanField(
        required=False,
        initial=True,
        label="Can view text logs",
        help_text="The messenger, the audit log and the outbox.",
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("can_log_in") and not cleaned.get("email") and "email" not in self.errors:
            self.add_error("email", "A login needs an email address.")
        return cleaned


class StaffPhoneForm(forms.Form):
    label = forms.CharField(
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Cell"}),
    )
    number = forms.CharField(
        max_length=40, widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"})
    )


class StaffPhoneAddForm(StaffPhoneForm):
    text_capable = forms.BooleanField(required=False, initial=True, label="Can receive texts")


class PhoneFieldForm(forms.Form):
    label = forms.CharField(
        max_length=40, widget=forms.TextInput(attrs={"placeholder": "e.g. Mother cell"})
    )
    required = forms.BooleanField(required=False, label="Required on every family")


class PhoneFieldDeleteForm(forms.Form):
    confirm = forms.BooleanField(required=False)


class PolicyForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12}),
        label="Policy text",
        error_messages={"required": "The policy cannot be empty."},
    )
