"""The Celery application; tasks are discovered in every installed app's ``tasks`` module.

The periodic tasks live in the database (``registry_project.schedules``); beat, or without a
broker the in-process schedule, runs them (``registry_project.beat``). Every task run is logged
with the request id of what queued it (``registry_project.tasklog``).
"""

import os

from celery import Celery

from registry_project import tasklog

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_project.settings.base")

app = Celery("registry_project", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
tasklog.connect()
