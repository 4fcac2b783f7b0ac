"""The batch forms: a mode's form with many File IDs, pasted or uploaded, each checked as the single form does."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..zego.types import ThumbnailRequest
from .tasks import FORMS, TaskForm

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
        from ..services.batches import MAX_ITEMS, batch_check_lines  # forms sit below services

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
