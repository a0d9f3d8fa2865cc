"""the search box finds a citizen by ID number or phone

Revision ID: 0007_search_indexes
Revises: 0006_outbox_record
Create Date: 2026-12-05 07:40:00

An officer holding a citizen's ID card, or a phone number, finds their dossiers in one
search (services/dossiers.py: query_matches); these two indexes keep that an index look-up
on a node with years of dossiers. Indexes only: no row is touched.
"""

from alembic import op

revision = "0007_search_indexes"
down_revision = "0006_outbox_record"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_dossier_id_number", "dossier", ["id_number"])
    op.create_index("ix_dossier_phone", "dossier", ["phone"])


def downgrade() -> None:
    op.drop_index("ix_dossier_phone", table_name="dossier")
    op.drop_index("ix_dossier_id_number", table_name="dossier")
