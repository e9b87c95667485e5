"""Cross-cutting code: settings, upstream clients, errors, logging."""
