"""The lender's portal: a creditor's portfolio, commission terms, remittance statements and the
payments borrowers made to the lender directly."""
