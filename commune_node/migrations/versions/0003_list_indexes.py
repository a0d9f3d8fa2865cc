"""dossier list at scale: open-due column, ordered indexes, trigram name search

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 08:30:00

A node holds years of dossiers; the desk's list, overdue and name-search pages must stay
fast (docs/benchmarks.md, benchmark 4). This revision:

* adds ``open_due_at`` — the due date while the dossier is open, else NULL — with an index
  on (open_due_at, code), so "overdue", "due today" and "due soon" are one ordered range
  scan instead of a sort of every open dossier; filled in here from ``status``/``due_at``;
* replaces the single-column status index, and the (status, due_at) one the new column
  makes redundant, with (status, created_at, code), and adds (procedure_code, created_at,
  code): a filtered list reads its first page straight off an index, newest first;
* adds ``dossier_search``, an FTS5 table with the trigram tokenizer over the folded
  applicant name, kept in step by triggers, so a name search finds substrings without
  reading every row. The table keeps the dossier code (not the rowid, which a VACUUM or a
  table rebuild may change). A later revision that rebuilds the ``dossier`` table (Alembic
  batch "move and copy") drops these triggers with it and must create them again.
"""

from alembic import op
import sqlalchemy as sa

import common_io.sqlite  # noqa: F401  (column types used below)


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

OPEN_STATUSES = "2, 4, 5, 6"  # common.lifecycle.OPEN when this revision was written


def upgrade() -> None:
    op.add_column('dossier', sa.Column('open_due_at', common_io.sqlite.UTCDateTime(), nullable=True))
    op.execute(f"UPDATE dossier SET open_due_at = due_at WHERE status IN ({OPEN_STATUSES})")
    op.drop_index('ix_dossier_status', table_name='dossier')
    op.drop_index('ix_dossier_open_due', table_name='dossier')
    op.create_index('ix_dossier_status_created', 'dossier', ['status', 'created_at', 'code'])
    op.create_index('ix_dossier_procedure_created', 'dossier', ['procedure_code', 'created_at', 'code'])
    op.create_index('ix_dossier_open_due_at', 'dossier', ['open_due_at', 'code'])
    op.execute(
        "CREATE VIRTUAL TABLE dossier_search USING fts5("
        "code UNINDEXED, applicant_search, tokenize = 'trigram')"
    )
    op.execute(
        "CREATE TRIGGER dossier_search_insert AFTER INSERT ON dossier BEGIN "
        "INSERT INTO dossier_search (code, applicant_search) "
        "VALUES (new.code, new.applicant_search); END"
    )
    op.execute(
        "CREATE TRIGGER dossier_search_update AFTER UPDATE OF applicant_search ON dossier BEGIN "
        "DELETE FROM dossier_search WHERE code = old.code; "
        "INSERT INTO dossier_search (code, applicant_search) "
        "VALUES (new.code, new.applicant_search); END"
    )
    op.execute(
        "CREATE TRIGGER dossier_search_delete AFTER DELETE ON dossier BEGIN "
        "DELETE FROM dossier_search WHERE code = old.code; END"
    )
    op.execute(
        "INSERT INTO dossier_search (code, applicant_search) "
        "SELECT code, applicant_search FROM dossier"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER dossier_search_delete")
    op.execute("DROP TRIGGER dossier_search_update")
    op.execute("DROP TRIGGER dossier_search_insert")
    op.execute("DROP TABLE dossier_search")
    op.drop_index('ix_dossier_open_due_at', table_name='dossier')
    op.drop_index('ix_dossier_procedure_created', table_name='dossier')
    op.drop_index('ix_dossier_status_created', table_name='dossier')
    op.create_index('ix_dossier_open_due', 'dossier', ['status', 'due_at'])
    op.create_index('ix_dossier_status', 'dossier', ['status'])
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_column('open_due_at')
