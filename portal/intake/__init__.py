"""Intake: the staff console's placement import pages (upload, preview, confirm, progress, report,
undo) on top of the placement engine."""
