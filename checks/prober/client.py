"""The prober's HTTP client: JSON over the Checkstack API with the location's token (standard library only)."""

import json
import urllib.error
import urllib.request

USER_AGENT = "checkstack-prober/1"


class ApiError(Exception):
    """The API answered with an error status (`status`), or could not be reached (`status` None)."""

    def __init__(self, message: str, status: int | None = None, body: dict | None = None):
        super().__init__(message)
        self.status, self.body = status, body or {}


class ProberClient:
    def __init__(self, url: str, token: str, *, timeout: float = 15.0):
        self.base = url.rstrip("/") + "/api/v1/prober/"
        self.token, self.timeout = token, timeout

    def post(self, path: str, body: dict | None = None) -> dict:
        """POST `body` to prober/`path`; the decoded answer. Raises ApiError."""
        data = json.dumps(body or {}).encode()
        request = urllib.request.Request(self.base + path, data=data, method="POST", headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
            "Accept": "application/json", "User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                answer = json.loads(exc.read() or b"{}")
            except ValueError:
                answer = {}
            raise ApiError(f"{path}: HTTP {exc.code}", exc.code, answer) from None
        except (OSError, ValueError) as exc:  # refused, reset, timed out, a proxy's HTML page
            raise ApiError(f"{path}: {type(exc).__name__}: {exc}") from None

    def heartbeat(self) -> dict:
        return self.post("heartbeat/")

    def claim(self, limit: int) -> list[dict]:
        return self.post("claim/", {"max": limit}).get("claims", [])

    def results(self, results: list[dict]) -> dict:
        return self.post("results/", {"results": results})
