"""URLs of the admin console, under /ui/admin/."""

from django.urls import path

from web.console import access, audit, repositories, storage, tasks

app_name = "console"
urlpatterns = [
    path("", repositories.repository_list, name="repositories"),
    path("repositories/new/<str:kind>/", repositories.repository_create, name="repository_new"),
    path("repositories/<str:name>/", repositories.repository_edit, name="repository"),
    path(
        "repositories/<str:name>/delete/",
        repositories.repository_delete_confirm,
        name="repository_delete",
    ),
    path(
        "repositories/<str:name>/members/",
        repositories.repository_member_move,
        name="member_move",
    ),
    path(
        "repositories/<str:name>/upstream/",
        repositories.repository_upstream_check,
        name="upstream_check",
    ),
    path("repositories/<str:name>/cleanup/", repositories.repository_cleanup, name="cleanup"),
    path("repositories/<str:name>/access/", access.permission_matrix, name="permissions"),
    path("users/", access.user_list, name="users"),
    path("users/<str:username>/", access.user_detail, name="user"),
    path("tokens/", access.token_list, name="tokens"),
    path("tokens/<int:token_id>/revoke/", access.token_revoke_view, name="token_revoke"),
    path("groups/", access.group_list, name="groups"),
    path("groups/<str:name>/", access.group_detail, name="group"),
    path("tasks/", tasks.task_list, name="tasks"),
    path("tasks/<str:name>/run/", tasks.task_run, name="task_run"),
    path("tasks/<str:name>/schedule/", tasks.schedule_change, name="schedule_change"),
    path("audit/", audit.audit_log, name="audit"),
    path("storage/", storage.storage_overview, name="storage"),
]
