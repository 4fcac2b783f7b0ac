from django.urls import path

from .views import audit, health, history, tasks

app_name = "dashboard"
urlpatterns = [
    path("", history.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("tasks/", history.history, name="history"),
    path("tasks/new/<slug:mode>/", tasks.task_new, name="task_new"),
    path("tasks/<int:pk>/", tasks.task_detail, name="task_detail"),
    path("tasks/<int:pk>/retry/", tasks.task_retry, name="task_retry"),
    path("tasks/<int:pk>/ask/", tasks.task_ask, name="task_ask"),
    path("audit/", audit.audit, name="audit"),
]
