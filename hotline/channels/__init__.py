"""Transport adapters: they translate to domain calls and back, nothing more."""
