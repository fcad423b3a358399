"""Gammu SMSD (a GSM modem, Debian `gammu-smsd`) through its files service."""
