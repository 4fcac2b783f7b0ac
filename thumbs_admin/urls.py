from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # Open before signing in too: the login page can be switched. A POST with the CSRF token; it only sets
    # the language cookie and redirects to a same-site "next".
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("", include("dashboard.urls")),
]

handler403 = "dashboard.views.access.permission_denied"
# The 500 page with the request id, so that an operator can quote it (the traceback is logged with it).
handler500 = "dashboard.errors.server_error"
