"""An operator's own settings."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import Preference
from ..timezones import zone_choices, zone_named


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
