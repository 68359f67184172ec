"""stripe event inbox: the webhook keeps verified events, the worker applies them

Revision ID: 0008
Revises: 0007

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # Events recorded before the inbox were applied (or ignored) on arrival: their outcome is
    # their status, and their applied time is when they arrived.
    op.alter_column('stripe_event', 'outcome', new_column_name='status')
    op.add_column('stripe_event', sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('stripe_event', sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
    op.add_column('stripe_event', sa.Column('error', sa.String(length=100), nullable=True))
    op.add_column('stripe_event', sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('stripe_event', sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE stripe_event SET applied_at = received_at, attempts = 1 WHERE status = 'applied'")
    op.create_check_constraint(op.f('ck_stripe_event_status'), 'stripe_event',
                               "status IN ('received', 'applied', 'ignored', 'failed')")
    op.create_index('ix_stripe_event_pending', 'stripe_event', ['received_at'], unique=False,
                    postgresql_where=sa.text("status IN ('received', 'failed')"))


def downgrade():
    # Only safe once the worker has applied everything: a received event would read as applied.
    op.drop_index('ix_stripe_event_pending', table_name='stripe_event',
                  postgresql_where=sa.text("status IN ('received', 'failed')"))
    op.drop_constraint(op.f('ck_stripe_event_status'), 'stripe_event', type_='check')
    op.drop_column('stripe_event', 'applied_at')
    op.drop_column('stripe_event', 'next_attempt_at')
    op.drop_column('stripe_event', 'error')
    op.drop_column('stripe_event', 'attempts')
    op.drop_column('stripe_event', 'payload')
    op.alter_column('stripe_event', 'status', new_column_name='outcome')
