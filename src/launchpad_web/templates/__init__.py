"""Stored templates and their version history."""
