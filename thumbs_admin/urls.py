from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("dashboard.urls")),
]

handler403 = "dashboard.views.access.permission_denied"
# The 500 page with the request id, so that an operator can quote it (the traceback is logged with it).
handler500 = "dashboard.errors.server_error"
