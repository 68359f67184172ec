"""placements: a chunk is deleted as it is placed (workers place one import's chunks side by side);
the chunks an import's old cursor had passed are deleted now, so none is placed twice

Revision ID: 0021_placed_chunks
Revises: 0020_payment_succeeded
"""
from alembic import op

revision = "0021_placed_chunks"
down_revision = "0020_payment_succeeded"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("DELETE FROM placement_chunk c USING placement_import i "
               "WHERE c.import_id = i.id AND c.seq < i.next_chunk")


def downgrade():
    pass  # the placed chunks' rows are in the accounts they made; nothing to stage again
