"""Media that came with a message (WhatsApp photos, voice notes and documents, MMS pictures) and shared places:
kept safely, tied to the ticket, read for GPS (docs/interface.md "WhatsApp")."""
