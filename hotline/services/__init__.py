"""Use cases. Keyword-only arguments; they take a Session and never commit it themselves."""
