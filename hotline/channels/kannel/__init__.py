"""Kannel: the backup SMS gateway (HTTP sendsms out, delivery reports back to our dlr-url)."""
