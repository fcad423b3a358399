"""Alerts to a URC: sending, failover over channels, voice alerts and their delivery reports."""
