"""Service-level objectives over a system's check results: model, arithmetic, evaluation, reports, API."""
