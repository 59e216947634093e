"""Versioned ClickHouse schema migrations, applied in order by ``eventlens.schema.migrate``."""
