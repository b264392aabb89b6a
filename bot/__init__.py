"""Hertfordshire community safety assistant."""
