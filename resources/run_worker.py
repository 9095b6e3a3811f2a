"""A step process that outlives its run worker must stop spending and say so.

With the multiprocess executor each step runs in a child of the run worker (the `dg launch`
process, or the worker a run launcher started). If that worker dies (SIGKILL, OOM kill), nobody
will finish the run: the child keeps replaying and paying, and the run stays STARTED forever.
Open-source run monitoring cannot see it with the default run launcher (it has no worker health
check), so the child looks at its parent before every paid call, marks the run failed once, and
refuses further calls. While it waits (`resources.waits`), it also looks at the run's status: a run
being terminated (`dagster run terminate` marks it CANCELING) stops replaying.
"""

import multiprocessing
import threading

import dagster as dg


class RunWorkerGone(RuntimeError):
    """The run worker that started this step process is dead."""


STOPPING = (dg.DagsterRunStatus.CANCELING, dg.DagsterRunStatus.CANCELED, dg.DagsterRunStatus.FAILURE)


class RunWorkerWatch:
    def __init__(self, instance: dg.DagsterInstance | None, run: dg.DagsterRun | None):
        # None in the run worker itself (in-process execution): then there is no one to outlive.
        self.parent = multiprocessing.parent_process()
        self.instance, self.run = instance, run
        self.lock = threading.Lock()

    def check(self) -> None:
        if self.parent is None or self.parent.is_alive():
            return
        message = (f"the run worker (pid {self.parent.pid}) died; this step stopped making paid calls. "
                   "Replies already received are cached: re-run the partition to resume.")
        with self.lock:
            if self.instance is not None and self.run is not None:
                current = self.instance.get_run_by_id(self.run.run_id)
                if current is not None and current.status not in (dg.DagsterRunStatus.FAILURE,
                                                                   dg.DagsterRunStatus.CANCELED):
                    self.instance.report_run_failed(current, message)
        raise RunWorkerGone(message)

    def cancelled(self) -> str | None:
        """Why to stop replaying now: the run worker died (raises, as `check`), or the run is being
        terminated (`dagster run terminate` marks it CANCELING), else None."""
        self.check()
        if self.instance is None or self.run is None:
            return None
        current = self.instance.get_run_by_id(self.run.run_id)
        if current is not None and current.status in STOPPING:
            return f"the run is {current.status.value.lower()}: this step stopped replaying"
        return None
