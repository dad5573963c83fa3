"""Mutation resolvers (filled in below)."""
