"""page sessions kept on the server, and guess counters kept in the database

Revision ID: 0005_web_sessions
Revises: 0004
Create Date: 2026-12-04 18:30:00

``web_session``: one row per logged-in browser (the SHA-256 of the random id in its cookie,
the user, when it ends), so logging out, a password change and a deactivation end a session
at once (common_io/web_sessions.py). ``login_attempt``: the log-in and status look-up guess
counters, shared by every process on this database (common_io/throttle.py). New tables
only: nothing that exists is touched.
"""

import sqlalchemy as sa
from alembic import op

import common_io.sqlite  # noqa: F401  (column types used below)

revision = "0005_web_sessions"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", common_io.sqlite.UTCDateTime(), nullable=False),
        sa.Column("expires_at", common_io.sqlite.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_web_session_user_id", "web_session", ["user_id"])
    op.create_index("ix_web_session_expires_at", "web_session", ["expires_at"])
    op.create_table(
        "login_attempt",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("ends_at", common_io.sqlite.UTCDateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_login_attempt_ends_at", "login_attempt", ["ends_at"])


def downgrade() -> None:
    op.drop_index("ix_login_attempt_ends_at", table_name="login_attempt")
    op.drop_table("login_attempt")
    op.drop_index("ix_web_session_expires_at", table_name="web_session")
    op.drop_index("ix_web_session_user_id", table_name="web_session")
    op.drop_table("web_session")
