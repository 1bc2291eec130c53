"""Use cases. Transaction boundaries and (later) permission checks live here."""
