"""Alembic's environment for the bank's schema. bank.migrate hands it an open connection (under the
migration lock); nothing here reads a URL or a config file."""
from alembic import context

from bank.database import db
from bank import models  # noqa: F401  (the tables must be on db.metadata for autogenerate)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through bank.migrate (flask --app bank migrate), not the alembic command")

context.configure(
    connection=connection,
    target_metadata=db.metadata,
    # SQLite cannot ALTER most things in place; batch operations copy the table instead, and the
    # same migration runs unchanged on MariaDB.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
