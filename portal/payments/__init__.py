"""Paying online: Stripe behind one gateway, webhooks applied once, a ledger that never doubles."""
