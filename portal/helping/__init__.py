"""Someone helping a borrower: the grants a borrower gives and takes back, and what a helper may
reach through them."""
