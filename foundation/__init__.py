"""What every app builds on and no app owns: API errors and the one exception handler, permissions,
pagination, request-body limits, authentication and sessions, the rate limiter, the egress guard and
deadlines of outside calls, log context, JSON text rules. It imports no app (foundation/tests/test_app_edges.py).
"""
