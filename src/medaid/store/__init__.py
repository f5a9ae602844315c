"""The store: SQLAlchemy models, Alembic migrations, connections (SQLite or PostgreSQL)."""
