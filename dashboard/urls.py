from django.urls import path, re_path

from .views import audit, callbacks, health, history, tasks

app_name = "dashboard"
urlpatterns = [
    path("", history.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("tasks/", history.history, name="history"),
    path("tasks/new/<slug:mode>/", tasks.task_new, name="task_new"),
    path("tasks/<int:pk>/", tasks.task_detail, name="task_detail"),
    path("tasks/<int:pk>/retry/", tasks.task_retry, name="task_retry"),
    path("callbacks/", callbacks.refused_callbacks, name="callbacks"),
    # ZEGO's snapshot callback; with or without the slash, since the URL is typed into ZEGO's configuration.
    re_path(r"^zego/callback/?$", callbacks.zego_callback, name="zego_callback"),
    path("audit/", audit.audit, name="audit"),
]
