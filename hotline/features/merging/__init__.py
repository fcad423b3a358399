"""Merging duplicate reports, undoing it, the reporters of a ticket."""
