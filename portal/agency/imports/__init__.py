"""The staff console's placement import pages: upload, preview, confirm, progress, report, undo."""
