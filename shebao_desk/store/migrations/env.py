"""Alembic environment: run against the connection the program hands in, inside the program's transaction.

The caller (shebao_desk.store.schema for a store, sync.central for the central database) has begun
ONE transaction on that connection, so Alembic commits nothing itself: a whole upgrade, the version
bump included, commits or rolls back as one. The migrations use no application code and no
metadata: ``target_metadata`` matters only to autogenerate, which a developer may pass in
(``config.attributes["target_metadata"] = Base.metadata``) when writing a new migration.
"""

from alembic import context

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through shebao_desk.store.schema, which supplies the connection")
if not connection.in_transaction():
    raise RuntimeError("migrations run inside the caller's transaction (engine.begin()), never one per step")

context.configure(
    connection=connection,
    target_metadata=config.attributes.get("target_metadata"),
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
    compare_type=True,
    transaction_per_migration=False,
    transactional_ddl=True,  # true of SQLite once the driver stops committing each DDL statement (store_schema)
)
with context.begin_transaction():  # the caller's transaction is open: this commits nothing
    context.run_migrations()
