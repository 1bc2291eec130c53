"""Pure domain logic: no database, web, template or file I/O lives here."""
