"""The Celery application: settings from Django's (``CELERY_*``), tasks from each app's ``tasks.py``.

Workers: ``celery -A torchcanvas_site worker -Q gpu -c 1`` on a GPU host, ``-Q cpu`` elsewhere; the
sweeper's schedule: ``celery -A torchcanvas_site beat``. See the README's "Runs" section.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "torchcanvas_site.settings")

app = Celery("torchcanvas_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
