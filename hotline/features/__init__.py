"""Feature packages: each owns its use cases (docs/architecture.md, "The map"). Keyword-only arguments; they
take a Session and never commit it themselves."""
