"""Full-text search: a projection of the log into a SQLite FTS5 index."""
