"""One form per screenshot mode; each owns its vendor rules and turns itself into a ThumbnailRequest.

Limits come from ZEGO's and the vendors' documentation (see zego-facts.md): Tencent File IDs are digit
strings of at most 40 characters, Huawei's are OBS object paths (at most 1024 characters); Huawei takes at
most 10 whole-second time points and an interval of 1 to 100 s. Tencent documents no cap on time points;
thumbs caps them at 100, to millisecond precision.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import date
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .models import AuditEntry, Preference, Result, State, Task
from .timezones import zone_choices, zone_named
from .zego.types import Mode, ThumbnailRequest, Vendor

TENCENT_FILE_ID_MAX = 40
HUAWEI_FILE_ID_MAX = 1024
TENCENT_MAX_TIME_POINTS = 100
HUAWEI_MAX_TIME_POINTS = 10
MAX_TIME_POINT_SECONDS = Decimal(999_999)
INTERVAL_MIN, INTERVAL_MAX = 1, 100
DEFINITION_MAX = 2**32 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Invisible or direction-changing characters (format, surrogate, private use, line/paragraph separators):
# U+202E and U+200B can make one File ID look like another in the history.
_HIDDEN_CATEGORIES = {"Cf", "Cs", "Co", "Zl", "Zp"}
LAST_DATE = date.max.replace(day=30)  # the history adds a day to "To"


def _date_up_to_last(value: date | None) -> date | None:
    if value and value > LAST_DATE:
        raise forms.ValidationError(_("Pick a date up to %(date)s.") % {"date": f"{LAST_DATE:%Y-%m-%d}"})
    return value


def _hidden_character(text: str) -> str | None:
    for char in text:
        if unicodedata.category(char) in _HIDDEN_CATEGORIES:
            return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed')}"
    return None


_SPLIT = re.compile(r"[\s,;]+")


def _vendor_label(vendor: str) -> str:
    return Task.Vendor(vendor).label if vendor in Task.Vendor.values else vendor


def file_id_problem(file_id: str, vendor: str | None = None) -> str | None:
    """What is wrong with a File ID, or None: the one set of rules for the forms, batches and the CLI.
    Without a vendor, only the rules that hold for both."""
    if vendor is None:
        if len(file_id) > HUAWEI_FILE_ID_MAX:
            return _("A File ID has at most %(max)s characters.") % {"max": HUAWEI_FILE_ID_MAX}
        if _CONTROL.search(file_id):
            return _("File ID contains a control character (a tab, newline or similar).")
        hidden = _hidden_character(file_id)
        if hidden:
            return _(
                "File ID contains an invisible or direction-changing character (%(character)s), which can make "
                "one File ID look like another. Type it again without it."
            ) % {"character": hidden}
        return None
    if vendor == Vendor.TENCENT:
        if not (file_id.isascii() and file_id.isdigit()):
            return _("A Tencent File ID is digits only, such as 1397757897438985100.")
        if len(file_id) > TENCENT_FILE_ID_MAX:
            return _("A Tencent File ID has at most %(max)s digits.") % {"max": TENCENT_FILE_ID_MAX}
    return None


def parse_time_points(raw: str, vendor: str) -> list[str]:
    """'1, 2.5, 10' or one per line -> ['1', '2.5', '10'] (exact decimal strings), or ValidationError."""
    parts = [p for p in _SPLIT.split(raw.strip()) if p]
    if not parts:
        raise forms.ValidationError(_("Enter at least one time point, in seconds, such as 1, 2.5, 10."))
    cap = HUAWEI_MAX_TIME_POINTS if vendor == Vendor.HUAWEI else TENCENT_MAX_TIME_POINTS
    seen: dict[Decimal, str] = {}
    errors, points = [], []
    # Too many is one error among the others: every problem is listed at once, not the count alone.
    if len(parts) > cap:
        errors.append(
            _("%(count)s time points: %(vendor)s takes at most %(max)s.")
            % {"count": len(parts), "vendor": _vendor_label(vendor), "max": cap}
        )
    for part in parts:
        try:
            value = Decimal(part)
        except InvalidOperation:
            errors.append(_("“%(value)s” is not a number of seconds.") % {"value": part[:20]})
            continue
        if not value.is_finite():
            errors.append(_("“%(value)s” is not a finite number.") % {"value": part[:20]})
        elif value < 0:
            errors.append(_("%(value)s is negative: time points count from the start of the file.") % {"value": part})
        elif value > MAX_TIME_POINT_SECONDS:
            errors.append(
                _("%(value)s is beyond %(max)s seconds.") % {"value": part, "max": f"{MAX_TIME_POINT_SECONDS:,}"}
            )
        elif vendor == Vendor.HUAWEI and value != value.to_integral_value():
            errors.append(_("%(value)s: Huawei takes whole seconds only.") % {"value": part})
        elif value.as_tuple().exponent < -3 and value != value.quantize(Decimal("0.001")):
            errors.append(_("%(value)s: at most three decimal places (milliseconds).") % {"value": part})
        elif value in seen:
            errors.append(_("%(value)s is repeated (same time as %(first)s).") % {"value": part, "first": seen[value]})
        else:
            seen[value] = part
            normal = value.normalize()
            points.append(str(int(normal)) if normal == normal.to_integral_value() else format(normal, "f"))
    if errors:
        raise forms.ValidationError(errors)
    return points


class TaskForm(forms.Form):
    mode: Mode
    title: str
    description: str  # one line for the home page and the form's lead; ZEGO's Type is mode.zego_type

    vendor = forms.ChoiceField(
        choices=Task.Vendor.choices,
        initial=Vendor.TENCENT.value,
        widget=forms.RadioSelect,
        label=gettext_lazy("Vendor"),
        help_text=gettext_lazy("Where the recording is stored: Tencent Cloud VOD or Huawei Cloud OBS."),
    )
    file_id = forms.CharField(
        label=gettext_lazy("File ID"),
        max_length=HUAWEI_FILE_ID_MAX,
        help_text=gettext_lazy(
            "Tencent: the VOD FileID (digits). Huawei: the OBS object path, e.g. /record/…/file.mp4."
        ),
        # No autocomplete="off": it also stops the browser from restoring the field on Back, and Back then
        # resubmit must keep the File ID (and its form token, which shows the task already made).
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
    )
    definition = forms.IntegerField(
        label=gettext_lazy("Definition"),
        required=False,
        min_value=1,
        max_value=DEFINITION_MAX,
        initial=10,
        help_text=gettext_lazy(
            "Tencent's screenshot template ID. 10 (suggested) is Tencent's preset template: JPG screenshots at the "
            "recording's own size. Use another ID only if ZEGOCLOUD support made one for you."
        ),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "placeholder": "10"}),
    )
    submission_token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if not self.is_bound and not self.initial.get("submission_token"):
            self.initial["submission_token"] = uuid.uuid4()
        self.fields["definition"].error_messages.update(
            {
                "invalid": _("Definition must be a whole number, such as 10."),
                "min_value": _("Definition must be 1 or more."),
            }
        )

    @property
    def vendor_value(self) -> str:
        """The vendor the page should show fields for: what was posted, else the initial."""
        value = self.data.get(self.add_prefix("vendor")) if self.is_bound else self.initial.get("vendor")
        return value if value in Vendor._value2member_map_ else Vendor.TENCENT.value

    def clean_submission_token(self) -> uuid.UUID | None:
        # A hidden field the operator cannot fix: a mangled token only loses double-submit protection.
        try:
            return uuid.UUID(self.cleaned_data["submission_token"])
        except ValueError:
            return None

    def clean_file_id(self) -> str:
        file_id = self.cleaned_data["file_id"]
        problem = file_id_problem(file_id)
        if problem:
            raise forms.ValidationError(problem)
        return file_id

    def clean(self) -> dict:
        data = super().clean()
        vendor, file_id = data.get("vendor"), data.get("file_id")
        if file_id and vendor:
            problem = file_id_problem(file_id, vendor)
            if problem:
                self.add_error("file_id", problem)
        if vendor == Vendor.TENCENT:
            if data.get("definition") is None and "definition" not in self.errors:
                self.add_error("definition", _("Tencent needs a Definition: the screenshot template ID."))
        else:
            data["definition"] = None
        return data

    def to_request(self) -> ThumbnailRequest:
        d = self.cleaned_data
        return ThumbnailRequest(
            vendor=Vendor(d["vendor"]),
            mode=self.mode,
            file_id=d.get("file_id", ""),
            definition=d.get("definition"),
            time_points=tuple(Decimal(t) for t in d.get("time_points") or ()),
            interval=d.get("interval"),
        )

    @classmethod
    def initial_from_task(cls, task: Task) -> dict:
        return {
            "vendor": task.vendor,
            "file_id": task.file_id,
            "definition": task.definition,
            "time_points": ", ".join(task.time_points),
            "interval": task.interval,
        }


class TimePointsForm(TaskForm):
    mode = Mode.TIME_POINTS
    title = gettext_lazy("Time points")
    description = gettext_lazy("Screenshots at the moments you list.")

    time_points = forms.CharField(
        label=gettext_lazy("Time points"),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=format_lazy(
            gettext_lazy(
                "Seconds from the start, separated by commas or one per line: 1, 2.5, 10. "
                "Tencent: up to {tencent_max}, to the millisecond. Huawei: up to {huawei_max}, whole seconds."
            ),
            tencent_max=TENCENT_MAX_TIME_POINTS,
            huawei_max=HUAWEI_MAX_TIME_POINTS,
        ),
    )

    def clean_time_points(self) -> list[str]:
        # vendor is declared before time_points, so it is already cleaned (or invalid, and reported).
        vendor = self.cleaned_data.get("vendor") or Vendor.TENCENT
        return parse_time_points(self.cleaned_data["time_points"], vendor)


class IntervalForm(TaskForm):
    mode = Mode.INTERVAL
    title = gettext_lazy("Interval")
    description = gettext_lazy("A screenshot every N seconds until the recording ends.")

    interval = forms.IntegerField(
        label=gettext_lazy("Interval"),
        required=False,
        min_value=INTERVAL_MIN,
        max_value=INTERVAL_MAX,
        help_text=format_lazy(
            gettext_lazy("Huawei: a screenshot every N whole seconds, {min} to {max}."),
            min=INTERVAL_MIN,
            max=INTERVAL_MAX,
        ),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["interval"].error_messages.update(
            {
                "invalid": _("Interval must be a whole number of seconds."),
                "min_value": ngettext(
                    "Interval must be at least %(min)s second.",
                    "Interval must be at least %(min)s seconds.",
                    INTERVAL_MIN,
                )
                % {"min": INTERVAL_MIN},
                "max_value": _("Interval must be at most %(max)s seconds.") % {"max": INTERVAL_MAX},
            }
        )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("vendor") == Vendor.HUAWEI:
            if data.get("interval") is None and "interval" not in self.errors:
                self.add_error("interval", _("Huawei needs an Interval: whole seconds between screenshots."))
        else:
            data["interval"] = None
            self.errors.pop("interval", None)
        return data


# The URL slug of a mode is the mode itself.
FORMS: dict[str, type[TaskForm]] = {form.mode.value: form for form in (TimePointsForm, IntervalForm)}


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
        if _CONTROL.search(q):
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
        if _CONTROL.search(who):
            raise forms.ValidationError(_("The name contains a control character."))
        return who

    def clean_since(self) -> date | None:
        return _date_up_to_last(self.cleaned_data["since"])

    def clean_until(self) -> date | None:
        return _date_up_to_last(self.cleaned_data["until"])


UPLOAD_MAX_BYTES = 2 * 1024 * 1024
SHOWN_PROBLEMS = 200


class BatchFormMixin(forms.Form):
    """A mode's form with many File IDs instead of one: pasted one per line, or a text/CSV file."""

    file_ids = forms.CharField(
        label=gettext_lazy("File IDs"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        help_text=gettext_lazy("One per line, up to 20,000. Each is checked with the same rules as the single form."),
    )
    upload = forms.FileField(
        label=gettext_lazy("Or a text or CSV file"),
        required=False,
        help_text=gettext_lazy("One File ID per line, or the first column of a CSV (a header row is skipped)."),
    )
    send_valid_only = forms.BooleanField(
        label=gettext_lazy("Send only the valid lines"),
        required=False,
        help_text=gettext_lazy("Leave out the lines listed as invalid or repeated."),
    )

    def clean(self) -> dict:
        from .services.batches import MAX_ITEMS, batch_check_lines  # forms sit below services

        data = super().clean()
        text = self._text(data)
        vendor = data.get("vendor")
        self.lines = None
        if text is None or not vendor:
            return data
        lines = batch_check_lines(text, vendor=vendor)
        self.lines = lines
        if not lines.valid and not lines.invalid and not lines.duplicates:
            self.add_error("file_ids", _("Paste at least one File ID, or choose a file."))
        elif not lines.valid:
            self.add_error("file_ids", _("None of these lines can be sent: see the list below."))
        elif lines.too_many:
            self.add_error(
                "file_ids",
                _("%(count)s File IDs: a batch takes at most %(max)s.")
                % {"count": f"{len(lines.valid):,}", "max": f"{MAX_ITEMS:,}"},
            )
        elif (lines.invalid or lines.duplicates) and not data.get("send_valid_only"):
            bad = len(lines.invalid) + len(lines.duplicates)
            self.add_error(
                "file_ids",
                _(
                    "%(bad)s of %(total)s lines cannot be sent (listed below): fix them, or tick "
                    "“Send only the valid lines”."
                )
                % {"bad": f"{bad:,}", "total": f"{bad + len(lines.valid):,}"},
            )
        return data

    def _text(self, data: dict) -> str | None:
        upload = data.get("upload")
        if upload:
            if upload.size > UPLOAD_MAX_BYTES:
                self.add_error(
                    "upload", _("The file is over %(size)s MB.") % {"size": UPLOAD_MAX_BYTES // (1024 * 1024)}
                )
                return None
            try:
                return upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error("upload", _("The file is not UTF-8 text: save it as UTF-8 (CSV UTF-8) and try again."))
                return None
        return data.get("file_ids") or ""

    def template_request(self) -> ThumbnailRequest:
        """The shared parameters, as a request without a File ID (each item brings its own)."""
        return self.to_request()


def _batch_form(form: type[TaskForm]) -> type[TaskForm]:
    return type(f"Batch{form.__name__}", (BatchFormMixin, form), {"file_id": None})


BATCH_FORMS: dict[str, type[TaskForm]] = {mode: _batch_form(form) for mode, form in FORMS.items()}


class PreferenceForm(forms.ModelForm):
    """An operator's own settings: the time zone their pages show times in."""

    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        required=False,
        help_text=gettext_lazy("Times on every page are shown in this zone. Stored times stay in UTC."),
    )

    class Meta:
        model = Preference
        fields = ["time_zone"]

    def __init__(self, *args, browser_zone: str = "", **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        follow = (
            _("Follow this browser")
            if not browser_zone
            else _("Follow this browser (%(zone)s)") % {"zone": browser_zone}
        )
        common, every = zone_choices()
        self.fields["time_zone"].choices = [("", follow), (_("Common"), common), (_("Every zone"), every)]

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"]
        if name and zone_named(name) is None:
            raise forms.ValidationError(_("Pick a time zone from the list."))
        return name
