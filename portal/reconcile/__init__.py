"""Reconciliation with Stripe (the agency's side): what Stripe settled, matched to our payments."""
