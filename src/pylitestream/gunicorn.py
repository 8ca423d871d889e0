"""`gunicorn -c python:pylitestream.gunicorn` and `from pylitestream.gunicorn import *` keep
working: the hooks live in pylitestream.integrations.gunicorn."""

from .integrations.gunicorn import *  # noqa: F403
from .integrations.gunicorn import __all__ as __all__
