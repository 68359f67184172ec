"""The partner JSON API under /api/v1/: contact decisions, attempts and accounts for dialers,
SMS platforms and CRMs, authenticated by per-partner API keys (`setup.init_app` puts it on an
app)."""
