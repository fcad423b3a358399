"""Operator accounts, login limits and the audit log."""
