"""Reporting: turn run folders into tables."""
