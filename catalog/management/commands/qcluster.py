"""manage.py qcluster: Django-Q2's cluster, stopped within ``Q_STOP_GRACE`` seconds of SIGTERM.

Django-Q2's own stop waits for every worker to finish its task, without a bound: a worker
in a long push (polling a batch, waiting out a rate limit) held a SIGTERM'd cluster for
over a minute, until something sent SIGKILL. Here the stop waits ``Q_STOP_GRACE`` seconds
(default 8), then kills the cluster's processes that are still busy. Nothing is lost by
that: an unfinished task is not acknowledged, so the broker hands it out again after
``Q_RETRY``, and every task is idempotent (claims of a killed push are released by the
sweeper; the PENDING rows are the truth, the task only a nudge).
"""

from __future__ import annotations

import contextlib
import logging

import psutil
from django.conf import settings
from django_q.cluster import Cluster
from django_q.management.commands import qcluster

logger = logging.getLogger(__name__)


class BoundedStopCluster(Cluster):
    """A cluster whose stop gives its workers a grace period, then ends them."""

    def stop(self) -> bool:
        if self.sentinel is None or not self.sentinel.is_alive():
            return False
        grace = float(getattr(settings, "Q_STOP_GRACE", 8))
        logger.info("Q Cluster %s stopping (at most %.0f s).", self.name, grace)
        # The sentinel's children (workers, monitor, pusher), read before they can be orphaned.
        processes = _tree(self.sentinel.pid)
        self.stop_event.set()
        self.sentinel.join(grace)
        if self.sentinel.is_alive():
            busy = [p for p in processes if p.is_running()]
            logger.warning(
                "Q Cluster %s: %s process(es) still busy after %.0f s; killing them (their tasks will be "
                "handed out again).",
                self.name,
                len(busy),
                grace,
            )
            for process in busy:
                _kill(process)
            _kill(psutil.Process(self.sentinel.pid))
            self.sentinel.join(2)
        self.start_event = None
        self.stop_event = None
        logger.info("Q Cluster %s has stopped.", self.name)
        return True


def _tree(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _kill(process: psutil.Process) -> None:
    with contextlib.suppress(psutil.Error):  # already gone
        process.kill()


class Command(qcluster.Command):
    help = "Starts a Django-Q2 cluster that stops within Q_STOP_GRACE seconds of SIGTERM."

    def handle(self, *args, **options):
        import django_q.management.commands.qcluster as module

        # The parent's handle builds ``Cluster()`` from its module: give it ours.
        original = module.Cluster
        module.Cluster = BoundedStopCluster
        try:
            super().handle(*args, **options)
        finally:
            module.Cluster = original
