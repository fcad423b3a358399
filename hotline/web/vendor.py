"""Third-party browser files, served straight from their Python packages (never copied into this repository):
Leaflet (xstatic-leaflet) and its marker clustering (xstatic-leaflet-markercluster), for the console map."""

from __future__ import annotations

import importlib
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

VENDOR_PREFIX = "/console/vendor"
PACKAGES = {"leaflet": "xstatic.pkg.leaflet", "markercluster": "xstatic.pkg.leaflet_markercluster"}


def package_dir(module: str) -> Path:
    """An XStatic package's files (its BASE_DIR)."""
    return Path(str(importlib.import_module(module).BASE_DIR))


def mount_vendor(app: FastAPI) -> None:
    """/console/vendor/leaflet/leaflet.js, /console/vendor/markercluster/leaflet.markercluster.js, ..."""
    for name, module in PACKAGES.items():
        app.mount(f"{VENDOR_PREFIX}/{name}", StaticFiles(directory=package_dir(module)), name=f"vendor-{name}")
