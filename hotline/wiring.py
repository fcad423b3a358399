"""The composition root: where the layers are plugged together, once per process.

- Deadlines written by features (hotline/core/deadlines.py) are armed by the timer core (hotline/jobs/timers.py).
- The SMS and voice gateways (the adapters) are built from settings by hotline/channels/gateways.py and
  hotline/channels/voice_gateways.py, and the webhook routers are included in hotline/web/app.py.

Called by the app (hotline/web/app.py `create_app`), the CLI (hotline/cli.py) and the test suite; a worker and the
releaser import the timer core themselves."""

from __future__ import annotations

from functools import cache


@cache
def wire() -> None:
    import hotline.jobs.timers  # noqa: F401  plugs its `arm` into hotline.core.deadlines at import
