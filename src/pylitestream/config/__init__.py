"""The litestream config: which file is in effect (discover), reading it as litestream will
(load), the keys each line reads (schema), checking it before litestream runs (validate),
showing it with secrets masked (show), rewriting a 0.3 one for 0.5 (migrate) and writing a new
one (init). Also pylitestream's own settings (settings: configure(), [tool.pylitestream]) and
the control socket's place (socket).

The names below are the package's face; the modules hold the code. `init`, `migrate` and
`show` load on first use: every command runs the check, few write or show a config.
"""

from typing import TYPE_CHECKING, Any

from .discover import find_config as find_config
from .load import configured_databases as configured_databases
from .load import database_entry as database_entry
from .load import load_config as load_config
from .load import socket_path as socket_path
from .schema import known_line as known_line
from .validate import validate_config as validate_config

if TYPE_CHECKING:
    from .init import init_config as init_config
    from .init import render_config as render_config
    from .migrate import dump_yaml as dump_yaml
    from .migrate import migrate_config as migrate_config
    from .show import show_config as show_config


def __getattr__(name: str) -> Any:
    if name in ("init_config", "render_config"):
        from . import init

        return getattr(init, name)
    if name in ("dump_yaml", "migrate_config"):
        from . import migrate

        return getattr(migrate, name)
    if name == "show_config":
        from . import show

        return show.show_config
    raise AttributeError(f"module 'pylitestream.config' has no attribute {name!r}")
