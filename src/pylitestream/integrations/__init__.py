"""Hooks for other servers' lifecycles (Gunicorn)."""
