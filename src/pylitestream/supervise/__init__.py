"""Running `litestream replicate` beside an app: processes, the state file and its lock, the
Replicator, `run` and `ps`.

Every way of starting replicate (`replicate`, `run`, Gunicorn, `Replicator`) records what it
started in a state file keyed by the config path, so a second daemon for the same config is
refused (0.5 has no lock of its own) and `ps` can tell what is running.
"""

from .entrypoint import run as run
from .process import is_litestream as is_litestream
from .ps import processes as processes
from .replicator import FIRST_LOOK as FIRST_LOOK
from .replicator import OnExit as OnExit
from .replicator import Replicator as Replicator
from .replicator import on_exit_mode as on_exit_mode
from .replicator import opened_path as opened_path
from .state import claim_for_exec as claim_for_exec
from .state import read_state as read_state
from .state import state_path as state_path
