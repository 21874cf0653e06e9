"""The prober's loop: heartbeat every 10 s, claim due checks, run them with the core's probes, post results.

Checks run in a thread pool of `concurrency`; a claim asks for no more than the free slots, so a slow fleet
of targets waits in the core (leased there only once claimed). Results are posted in batches as they come
(at least every second). Every network error is retried with back-off (1 s doubling to 30 s): a prober
outlives the core's restarts. Results that cannot be posted are kept (bounded) and posted later; a result
whose lease lapsed meanwhile is refused by the core and dropped here, its check having been claimed again.
"""

import logging
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

from .client import ApiError, ProberClient
from .run import claim_run

logger = logging.getLogger("checkstack.prober")

HEARTBEAT_SECONDS = 10.0
IDLE_SECONDS = 0.5  # between claims when nothing was due
MAX_BACKOFF_SECONDS = 30.0
BATCH = 200
MAX_PENDING = 10_000  # results kept while the core is unreachable; beyond, the oldest are dropped


class Backoff:
    def __init__(self):
        self.delay = 0.0

    def failed(self) -> float:
        self.delay = min(MAX_BACKOFF_SECONDS, max(1.0, self.delay * 2))
        return self.delay

    def ok(self) -> None:
        self.delay = 0.0


class Prober:
    def __init__(self, client: ProberClient, *, concurrency: int = 10):
        self.client, self.concurrency = client, concurrency
        self.stopping = threading.Event()
        self.results: queue.Queue = queue.Queue()
        self.running = 0
        self.lock = threading.Lock()

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        threads = [threading.Thread(target=target, name=name, daemon=True)
                   for name, target in (("heartbeat", self._heartbeats), ("poster", self._post_results))]
        for thread in threads:
            thread.start()
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="probe") as pool:
            self._claims(pool)
        for thread in threads:
            thread.join(timeout=5)

    def _heartbeats(self) -> None:
        backoff = Backoff()
        while not self.stopping.is_set():
            try:
                self.client.heartbeat()
                backoff.ok()
                wait = HEARTBEAT_SECONDS
            except ApiError as exc:
                wait = min(HEARTBEAT_SECONDS, backoff.failed())
                logger.warning("heartbeat failed (%s); again in %.0f s", exc, wait)
            self.stopping.wait(wait)

    def _claims(self, pool: ThreadPoolExecutor) -> None:
        backoff = Backoff()
        while not self.stopping.is_set():
            with self.lock:
                free = self.concurrency - self.running
            if free <= 0:
                self.stopping.wait(0.05)
                continue
            try:
                claims = self.client.claim(free)
                backoff.ok()
            except ApiError as exc:
                wait = backoff.failed()
                logger.warning("claim failed (%s); again in %.0f s", exc, wait)
                self.stopping.wait(wait)
                continue
            for claim in claims:
                with self.lock:
                    self.running += 1
                pool.submit(self._run_one, claim)
            if not claims:
                self.stopping.wait(IDLE_SECONDS)

    def _run_one(self, claim: dict) -> None:
        try:
            self.results.put(claim_run(claim))
        finally:
            with self.lock:
                self.running -= 1

    def _post_results(self) -> None:
        pending: list[dict] = []
        backoff = Backoff()
        while not (self.stopping.is_set() and not pending and self.results.empty()):
            try:
                pending.append(self.results.get(timeout=1.0))
                while len(pending) < BATCH * 5:
                    pending.append(self.results.get_nowait())
            except queue.Empty:
                pass
            if not pending:
                continue
            del pending[:-MAX_PENDING]
            batch = pending[:BATCH]
            try:
                answer = self.client.results(batch)
            except ApiError as exc:
                if exc.status == 409 or exc.status == 400:  # refused (lapsed leases) or malformed: never again
                    logger.warning("results refused: %s %s", exc, exc.body)
                    del pending[:len(batch)]
                    continue
                wait = backoff.failed()
                logger.warning("posting results failed (%s); again in %.0f s", exc, wait)
                self.stopping.wait(wait)
                continue
            backoff.ok()
            if answer.get("refused"):
                logger.info("%d results refused (lapsed leases)", len(answer["refused"]))
            del pending[:len(batch)]
