"""The wallboard for the command center's big screen, and the read-only kiosk tokens that open it."""
