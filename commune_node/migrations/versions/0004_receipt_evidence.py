"""receipts keep the proof that pins their records in the hub's log

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 11:00:00

A push answer proves where the records it stored sit in the hub's transparency log: the
log's frontier where they start, and the hub-signed checkpoint they end. Kept with the
receipt, that proof lets the node give the records back to a hub restored from an older
backup, each at its original leaf, so that the rebuilt log is the one the communes
witnessed (docs/reliability.md, "hub restored from a backup"). Receipts stored before this
revision have no proof; their columns stay empty.
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs (no table rebuild): the receipt table keeps every row as it is.
    op.add_column('receipt', sa.Column('first_seq', sa.Integer(), nullable=True))
    op.add_column('receipt', sa.Column('first_leaf', sa.BigInteger(), nullable=True))
    op.add_column('receipt', sa.Column('frontier', sa.Text(), nullable=True))
    op.add_column('receipt', sa.Column('checkpoint', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('receipt', schema=None) as batch_op:
        batch_op.drop_column('checkpoint')
        batch_op.drop_column('frontier')
        batch_op.drop_column('first_leaf')
        batch_op.drop_column('first_seq')
