"""the dossier list's own order in one index

Revision ID: 0015_list_keyset
Revises: 0014_disclosures
Create Date: 2026-12-05 16:40:00

``ix_dossier_created_code`` (created_at, code) replaces ``ix_dossier_created_at``: the
unfiltered list (newest first, code as tie-break) walks it backwards with no sort of its
own, and a page far down the list skips the rows before it in the index alone, reading only
the 50 table rows it shows (on an encrypted desk, each table page read is a page decrypted).
"""

from alembic import op

revision = "0015_list_keyset"
down_revision = "0014_disclosures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_dossier_created_code", "dossier", ["created_at", "code"])
    op.drop_index("ix_dossier_created_at", table_name="dossier")


def downgrade() -> None:
    op.create_index("ix_dossier_created_at", "dossier", ["created_at"])
    op.drop_index("ix_dossier_created_code", table_name="dossier")
