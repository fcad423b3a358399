"""Escalation: the chain pinned on a ticket and its steps (fired by hotline/jobs/escalation.py)."""
