"""The browser dashboard and HTTP API of a hub (see docs/dashboard.md)."""

from camhub.web.app import create_app, safe_filename
from camhub.web.server import DEFAULT_WEB, WebConfigError, WebServer

__all__ = ["DEFAULT_WEB", "WebConfigError", "WebServer", "create_app", "safe_filename"]
