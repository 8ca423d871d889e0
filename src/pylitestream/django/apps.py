"""The app's configuration: the label is "pylitestream", and ready() registers the checks."""

from __future__ import annotations

from django.apps import AppConfig


class PylitestreamConfig(AppConfig):  # type: ignore[misc]  # Django has no type information
    name = "pylitestream.django"
    label = "pylitestream"
    verbose_name = "Litestream (pylitestream)"

    def ready(self) -> None:
        # Registering is all the import does; the checks load the API only when they run.
        from . import checks  # noqa: F401
