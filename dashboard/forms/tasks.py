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
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ..models import Task
from ..zego.types import Mode, ThumbnailRequest, Vendor

TENCENT_FILE_ID_MAX = 40
HUAWEI_FILE_ID_MAX = 1024
TENCENT_MAX_TIME_POINTS = 100
HUAWEI_MAX_TIME_POINTS = 10
MAX_TIME_POINT_SECONDS = Decimal(999_999)
INTERVAL_MIN, INTERVAL_MAX = 1, 100
DEFINITION_MAX = 2**32 - 1
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Invisible or direction-changing characters (format, surrogate, private use, line/paragraph separators):
# U+202E and U+200B can make one File ID look like another in the history.
_HIDDEN_CATEGORIES = {"Cf", "Cs", "Co", "Zl", "Zp"}


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
        if CONTROL.search(file_id):
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
