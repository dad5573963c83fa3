"""Django-Q2 entry points for catalog work. Thin: each calls one service function."""
