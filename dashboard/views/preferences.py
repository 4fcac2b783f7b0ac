"""An operator's own settings (any signed-in user, whatever their role)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ..forms import PreferenceForm
from ..models import Preference
from ..timezones import BROWSER_ZONE_COOKIE, zone_named


@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    instance = Preference.objects.filter(user=request.user).first() or Preference(user=request.user)
    browser = request.COOKIES.get(BROWSER_ZONE_COOKIE, "")
    browser = browser if zone_named(browser) else ""
    form = PreferenceForm(request.POST or None, instance=instance, browser_zone=browser)
    if request.method == "POST" and form.is_valid():
        form.save()
        shown = form.cleaned_data["time_zone"] or browser or "UTC"
        messages.success(request, _("Saved: times are shown in %(zone)s.") % {"zone": shown})
        return redirect(_safe_next(request, request.POST.get("next")) or "dashboard:preferences")
    return render(
        request,
        "dashboard/preferences.html",
        {"form": form, "browser_zone": browser, "next": _safe_next(request, request.GET.get("next"))},
    )


def _safe_next(request: HttpRequest, url: str | None) -> str:
    """Where to go back to: a page of this site only (a link from elsewhere must not send anyone away)."""
    safe = url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return url if url and safe else ""
