"""Early warnings to desa: subscribers, broadcasts (two-person rule), the sender's bookkeeping, check-ins."""
