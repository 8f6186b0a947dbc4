"""The Celery application: settings from Django's (``CELERY_*``), tasks from each app's ``tasks.py``.

Workers: ``celery -A torchcanvas_site worker -Q gpu -c 1`` on a GPU host, ``-Q cpu`` elsewhere; the
sweeper's schedule: ``celery -A torchcanvas_site beat``. See the README's "Runs" section.

A worker divides the cores among its runs (torch threads), refuses to consume the gpu queue with more
than one process, and records its presence for the web (:mod:`training.workers`).
"""

import os

from celery import Celery, signals
from celery.utils.log import get_logger

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "torchcanvas_site.settings")

logger = get_logger(__name__)

app = Celery("torchcanvas_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_worker: dict = {}  # this worker's queues, concurrency and presence thread (set up in its main process)


@signals.celeryd_after_setup.connect
def _set_up_worker(sender, instance, **kwargs):
    """In the worker's main process, before its pool starts: the checks, and the threads its runs get."""
    from training import workers

    queues = sorted(instance.app.amqp.queues.consume_from)
    problem = workers.gpu_concurrency_problem(queues, instance.concurrency)
    if problem:
        raise SystemExit(problem)  # the worker stops with this sentence (a signal handler's errors are only logged)
    threads = workers.threads_per_run(instance.concurrency)
    workers.limit_threads(threads)  # the solo and threads pools run tasks in this process; prefork children below
    logger.info(
        "Each run gets %d torch thread(s) (concurrency %d, %d core(s))",
        threads,
        instance.concurrency,
        workers.available_cores(),
    )
    _worker.update(hostname=sender, queues=queues, concurrency=instance.concurrency, threads=threads)


@signals.worker_process_init.connect
def _set_up_pool_process(**kwargs):
    from training import workers

    if "threads" in _worker:  # forked from the main process after its set-up
        workers.limit_threads(_worker["threads"])


@signals.worker_ready.connect
def _announce(**kwargs):
    from training import workers

    if "hostname" in _worker:
        _worker["presence"] = workers.Presence(_worker["hostname"], _worker["queues"], _worker["concurrency"])
        _worker["presence"].start()
        _start_monitor()


def _start_monitor():
    """Report this worker's figures to the monitor (a worker without psutil still runs, unmonitored)."""
    from training import monitor

    try:
        _worker["reporter"] = monitor.Reporter(_worker["hostname"], _worker["queues"], _worker["concurrency"])
    except ImportError as exc:
        logger.warning("The worker monitor needs psutil (%s): this worker's figures are not reported", exc)
        return
    _worker["reporter"].start()


@signals.worker_shutdown.connect
def _withdraw(**kwargs):
    for name in ("presence", "reporter"):
        thread = _worker.pop(name, None)
        if thread is not None:
            thread.stop()
