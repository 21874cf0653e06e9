"""The chaos soak's clients and its controller.

Clients write health, incidents and maintenance through the API at a steady rate and note each write the
server acknowledged (a 2xx answer); a write that failed or timed out is not acknowledged and may or may not be
stored. The controller kills a random web, worker or beat process (`kill -9` of its process group) every few
seconds, and restarts Redis once and PostgreSQL once.
"""

import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

from chaos_stack import PROCESS_TYPES, kill_group


def api(url: str, token: str, method: str, path: str, body: dict | None = None, timeout: float = 10):
    request = urllib.request.Request(f"{url}/api/v1/{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


class Clients:
    """Three writers (health, incidents, maintenance), each at a steady rate; `acks` lists what the server took."""

    def __init__(self, url: str, token: str, system_ids: list[str], *, rate: float):
        self.url, self.token, self.system_ids, self.rate = url, token, system_ids, rate
        self.acks: list[tuple[str, str]] = []  # (what, key): the key finds the write in the database
        self.attempts = self.failures = 0
        self._lock, self.stopping = threading.Lock(), threading.Event()
        self._threads = [threading.Thread(target=self._paced, args=(loop, share), daemon=True)
                         for loop, share in ((self._health, 0.6), (self._incidents, 0.25), (self._maintenance, 0.15))]

    def start(self):
        for thread in self._threads:
            thread.start()

    def stop(self):
        self.stopping.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _call(self, what: str, key: str | None, method: str, path: str, body: dict):
        """One request; note it as acknowledged (under `key`, or the answer's id) only on a 2xx answer."""
        with self._lock:
            self.attempts += 1
        try:
            answer = api(self.url, self.token, method, path, body)
        except (OSError, urllib.error.HTTPError, ValueError):  # refused, reset, 5xx, timeout: not acknowledged
            with self._lock:
                self.failures += 1
            return None
        with self._lock:
            self.acks.append((what, key or answer["id"]))
        return answer

    def _paced(self, loop, share: float):
        """Run `loop`'s steps at `share` of the rate, each step one request, on a fixed schedule."""
        interval, next_at = 1 / (self.rate * share), time.monotonic()
        for _ in loop():
            if self.stopping.is_set():
                return
            next_at = max(next_at + interval, time.monotonic() - 5 * interval)  # no burst after an outage
            time.sleep(max(0.0, next_at - time.monotonic()))

    def _health(self):
        for n in range(10**9):
            system_id = self.system_ids[n % len(self.system_ids)]
            status = "degraded" if (n // len(self.system_ids)) % 2 == 0 else "healthy"
            message = f"chaos-{uuid.uuid4()}"  # every report is a change, found by its message
            self._call("health", message, "POST", f"systems/{system_id}/health/",
                       {"status": status, "message": message})
            yield

    def _incidents(self):
        while True:
            created = self._call("incident_create", None, "POST", "incidents/",
                                 {"title": f"chaos {uuid.uuid4().hex[:8]}", "severity": "major",
                                  "system_ids": [random.choice(self.system_ids)]})
            yield
            if created is None:
                continue
            message = f"chaos-{uuid.uuid4()}"
            self._call("incident_update", message, "POST", f"incidents/{created['id']}/updates/",
                       {"message": message, "status_change": "identified"})
            yield
            self._call("incident_resolve", created["id"], "POST", f"incidents/{created['id']}/resolve/", {})
            yield

    def _maintenance(self):
        while True:
            start = datetime.now(UTC) + timedelta(days=1)
            window = {"title": f"chaos {uuid.uuid4().hex[:8]}", "system_ids": [random.choice(self.system_ids)],
                      "start_at": start.isoformat(), "end_at": (start + timedelta(hours=1)).isoformat()}
            created = self._call("maintenance_create", None, "POST", "maintenances/", window)
            yield
            if created is not None:
                self._call("maintenance_close", created["id"], "POST", f"maintenances/{created['id']}/close/", {})
                yield


class Controller:
    """Every `every` seconds (± half), kill -9 one running process at random; Redis and PostgreSQL restart once."""

    def __init__(self, supervisor, redis, postgres, *, seconds: float, every: float, log):
        self.supervisor, self.redis, self.postgres, self.log = supervisor, redis, postgres, log
        self.seconds, self.every = seconds, every
        self.kills = dict.fromkeys(PROCESS_TYPES, 0)
        self._order: list[str] = []
        self.redis_restarts = self.pg_restarts = 0
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def start(self):
        self._thread.start()

    def stop(self):
        self.stopping.set()
        self._thread.join(timeout=60)

    def _run(self):
        try:
            self._schedule()
        except BaseException as exc:  # noqa: BLE001 - reported by the soak, which then fails
            self.error = exc

    def _schedule(self):
        start = time.monotonic()
        # Redis at a third of the soak, PostgreSQL at two thirds: each outage under full load, neither overlapping.
        outages = [(self.seconds / 3, self._restart_redis), (2 * self.seconds / 3, self._restart_postgres)]
        while not self.stopping.wait(random.uniform(self.every / 2, 1.5 * self.every)):
            elapsed = time.monotonic() - start
            if elapsed >= self.seconds:
                return
            if outages and elapsed >= outages[0][0]:
                outages.pop(0)[1]()
            else:
                self._kill_one()
        for _, restart in outages:  # the soak ended early: the outages still happen
            restart()

    def _kill_one(self):
        if not self._order:  # each type once per round, in a random order: a short soak still kills each
            self._order = random.sample(PROCESS_TYPES, len(PROCESS_TYPES))
        name = self._order.pop()
        pid = self.supervisor.current(name)  # None while the supervisor is restarting it: this turn is skipped
        if pid and kill_group(pid):
            self.kills[name] += 1
            self.log(f"kill -9 {name} (pid {pid})")

    def _restart_redis(self):
        self.log("redis: stopped (queued messages lost)")
        self.redis.stop()
        time.sleep(3)
        self.redis.start()
        self.redis_restarts += 1
        self.log("redis: started")

    def _restart_postgres(self):
        self.log("postgresql: restart -m immediate")
        self.postgres.restart_immediate()
        self.pg_restarts += 1
        self.log("postgresql: back")
