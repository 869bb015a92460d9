"""Fake provider servers for development and tests: plain werkzeug WSGI apps (no Flask).

Each runs on 127.0.0.1 with an ephemeral port in a thread (``server.FakeServer``) and is steered
from a test: ``down`` answers 503, ``fail_next`` fails the next N requests, ``requests`` records
what arrived.
"""
