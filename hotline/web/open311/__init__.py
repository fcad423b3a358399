"""Open311 GeoReport v2 (routes), its documents in JSON and XML, and its errors in the spec's format."""

from hotline.web.open311.errors import register as register_errors
from hotline.web.open311.routes import router

__all__ = ["register_errors", "router"]
