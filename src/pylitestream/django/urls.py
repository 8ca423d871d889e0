"""The dashboard's URLconf: `path("litestream/", include("pylitestream.django.urls"))`. One
pattern takes every path below the mount point (pages, JSON, actions, static files), so a route
the dashboard adds later goes through the same login and rules."""

from __future__ import annotations

from django.urls import re_path

from .dashboard import dashboard

app_name = "pylitestream"
urlpatterns = [re_path(r"^(?P<rest>.*)$", dashboard, name="dashboard")]
