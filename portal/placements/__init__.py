"""Accounts in from lenders and back to them: placement files, recalls (CONTRACT.md)."""
