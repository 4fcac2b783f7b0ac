from django.urls import path, re_path

from .views import audit, batches, callbacks, health, history, preferences, tasks

app_name = "dashboard"
urlpatterns = [
    path("", history.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("tasks/", history.history, name="history"),
    path("tasks/export.csv", history.history_export, name="history_export"),
    path("tasks/new/<slug:mode>/", tasks.task_new, name="task_new"),
    path("tasks/retry-matching/", batches.bulk_retry, name="bulk_retry"),
    path("tasks/<int:pk>/", tasks.task_detail, name="task_detail"),
    path("tasks/<int:pk>/retry/", tasks.task_retry, name="task_retry"),
    path("callbacks/", callbacks.refused_callbacks, name="callbacks"),
    # ZEGO's snapshot callback; with or without the slash, since the URL is typed into ZEGO's configuration.
    re_path(r"^zego/callback/?$", callbacks.zego_callback, name="zego_callback"),
    path("tasks/<int:pk>/ask/", tasks.task_ask, name="task_ask"),
    path("audit/", audit.audit, name="audit"),
    path("preferences/", preferences.preferences, name="preferences"),
    path("batches/", batches.batch_list, name="batch_list"),
    path("batches/new/<slug:mode>/", batches.batch_new, name="batch_new"),
    path("batches/<int:pk>/", batches.batch_detail, name="batch_detail"),
    path("batches/<int:pk>/cancel/", batches.batch_cancel, name="batch_cancel"),
]
