"""Borrower self-service portal for collection agencies."""

from portal.app import create_app

__all__ = ["create_app"]
