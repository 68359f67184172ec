"""Your data: what the portal holds about a borrower, who at the agency saw it, and corrections."""
