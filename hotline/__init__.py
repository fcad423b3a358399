"""Hotline: telephony and SMS hotline gateway for city command centers."""

__version__ = "0.1.0"
