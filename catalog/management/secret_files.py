"""Secrets for commands come from files or stdin, never from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import CommandError


class SecretReader:
    """Read secrets from files, ``-`` meaning stdin (one secret per line, in argument order)."""

    def __init__(self, stdin=None) -> None:
        self._stdin = stdin or sys.stdin
        self._lines: list[str] | None = None

    def read(self, path: str, what: str) -> str:
        if path == "-":
            if self._lines is None:
                self._lines = self._stdin.read().splitlines()
            if not self._lines:
                raise CommandError(f"No {what} on stdin.")
            value = self._lines.pop(0).strip()
        else:
            try:
                value = Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise CommandError(f"Cannot read the {what} file {path}: {exc.strerror or exc}.") from exc
        if not value:
            raise CommandError(f"The {what} is empty.")
        return value
