"""Project-wide pytest setup."""
