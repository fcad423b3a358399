"""SMS Gateway for Android (sms-gate.app): a phone with a SIM as the hotline's SMS gateway, the day-one setup."""
