"""The history's and the audit trail's search forms: what a reader may filter by, checked."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import AuditEntry, Result, State, Task
from .tasks import CONTROL, HUAWEI_FILE_ID_MAX

LAST_DATE = date.max.replace(day=30)  # the history adds a day to "To"


def _date_up_to_last(value: date | None) -> date | None:
    if value and value > LAST_DATE:
        raise forms.ValidationError(_("Pick a date up to %(date)s.") % {"date": f"{LAST_DATE:%Y-%m-%d}"})
    return value


class HistorySearchForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        max_length=HUAWEI_FILE_ID_MAX,
        help_text=gettext_lazy(
            "RequestId, vendor task id, or File ID (exact or the start of one). Press / to come back here."
        ),
        widget=forms.TextInput(
            attrs={"type": "search", "autocomplete": "off", "spellcheck": "false", "aria-keyshortcuts": "/"}
        ),
    )
    vendor = forms.ChoiceField(
        label=gettext_lazy("Vendor"), choices=[("", gettext_lazy("Any vendor")), *Task.Vendor.choices], required=False
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("Mode"), choices=[("", gettext_lazy("Any mode")), *Task.Mode.choices], required=False
    )
    state = forms.ChoiceField(
        label=gettext_lazy("State"), choices=[("", gettext_lazy("Any state")), *State.choices], required=False
    )
    result = forms.ChoiceField(
        label=gettext_lazy("Result"), choices=[("", gettext_lazy("Any result")), *Result.choices], required=False
    )
    code = forms.IntegerField(
        label=gettext_lazy("Code"),
        required=False,
        widget=forms.NumberInput(attrs={"placeholder": gettext_lazy("Code")}),
    )
    submitter = forms.CharField(label=gettext_lazy("Submitted by"), required=False, max_length=150)
    since = forms.DateField(label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    # Hidden, from links: labelled all the same, for the message when a hand-edited URL is wrong.
    batch = forms.IntegerField(
        label=gettext_lazy("Batch"), required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput
    )
    before = forms.IntegerField(label=gettext_lazy("Page"), required=False, min_value=1, widget=forms.HiddenInput)
    after = forms.IntegerField(label=gettext_lazy("Page"), required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_q(self) -> str:
        q = self.cleaned_data["q"].strip()
        if CONTROL.search(q):
            raise forms.ValidationError(_("The search contains a control character."))
        return q

    def clean_submitter(self) -> str:
        return self.cleaned_data["submitter"].strip()

    def clean_since(self) -> date | None:
        return _date_up_to_last(self.cleaned_data["since"])

    def clean_until(self) -> date | None:
        return _date_up_to_last(self.cleaned_data["until"])

    def clean(self) -> dict:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("“To” is before “From”."))
        return data


class AuditSearchForm(forms.Form):
    action = forms.ChoiceField(
        label=gettext_lazy("Action"),
        choices=[("", gettext_lazy("Any action")), *AuditEntry.Action.choices],
        required=False,
    )
    who = forms.CharField(label=gettext_lazy("Who"), required=False, max_length=150)
    task = forms.IntegerField(label=gettext_lazy("Task"), required=False, min_value=1, max_value=2**63 - 1)
    since = forms.DateField(label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    before = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_who(self) -> str:
        who = self.cleaned_data["who"].strip()
        if CONTROL.search(who):
            raise forms.ValidationError(_("The name contains a control character."))
        return who

    def clean_since(self) -> date | None:
        return _date_up_to_last(self.cleaned_data["since"])

    def clean_until(self) -> date | None:
        return _date_up_to_last(self.cleaned_data["until"])
