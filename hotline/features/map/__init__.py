"""The console map: open tickets as points (their GPS, else their desa's point from routing/areas.yaml)."""
