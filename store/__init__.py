"""The account store: PostgreSQL tables for accounts, registrations and their audit trail.

- `store.schema` — the tables (SQLAlchemy models); `store.migrations` — how they are built.
- `store.db` — engines with deadlines, and `migrate()`.
- `store.repository` — every read and write, each write idempotent and audited.
- `store.passwords` — Argon2id password hashes.
- `store.embedded` — a throw-away PostgreSQL for development and tests.
"""
