"""A writer process for the embedded soak test: health reports through the API at a steady rate.

    python -m testing.health_writer URL TOKEN SECONDS INTERVAL SYSTEM_ID...

Each report flips its system between healthy and degraded, so every one is a change. Prints one JSON line:
reports sent, failures and the time of the last write. Standard library only.
"""

import json
import sys
import time
import urllib.request


def post(url: str, token: str, system_id: str, status: str) -> None:
    request = urllib.request.Request(f"{url}/api/v1/systems/{system_id}/health/", method="POST",
                                     data=json.dumps({"status": status}).encode(),
                                     headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def main(url: str, token: str, seconds: str, interval: str, *system_ids: str) -> None:
    sent = failures = 0
    start = time.monotonic()
    next_at = start
    while time.monotonic() - start < float(seconds):
        system_id = system_ids[sent % len(system_ids)]
        status = "degraded" if (sent // len(system_ids)) % 2 == 0 else "healthy"
        try:
            post(url, token, system_id, status)
        except OSError as exc:
            failures += 1
            print(f"failed: {exc}", file=sys.stderr, flush=True)
        sent += 1
        next_at += float(interval)
        time.sleep(max(0.0, next_at - time.monotonic()))
    print(json.dumps({"sent": sent, "failures": failures, "last_write": time.time()}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
