"""A ``multipart/form-data`` request body streamed from its parts, in constant memory.

``requests`` builds a ``files=`` body in memory (urllib3's ``encode_multipart_formdata``
joins every part into one ``bytes``), so a feed file of a million rows (~0.5 GB) would
be held whole, more than once, by the process uploading it. Here the envelope (part
headers, the form fields, the closing boundary) is precomputed and the files are read
from disk as the socket asks for data; the total length is known in advance, so the
request still carries a ``Content-Length`` (no chunked encoding, which Meta's upload
endpoint is not documented to accept). The bytes on the wire are those ``requests``
would have sent for the same ``data=`` and ``files=``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping
from typing import IO, Any

READ_SIZE = 1 << 16  # bytes per read when iterated; the socket layer asks for its own block size


def _quote(value: str) -> str:
    """A header parameter value as browsers and urllib3 quote it (HTML5 form encoding)."""
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def _remaining(handle: IO[bytes]) -> int:
    """Bytes from the handle's position to its end."""
    position = handle.tell()
    try:
        size = os.fstat(handle.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        size = handle.seek(0, os.SEEK_END)
        handle.seek(position)
    return max(size - position, 0)


class MultipartBody:
    """A ``multipart/form-data`` body for ``requests``' ``data=``: form fields, then files.

    ``files`` takes what ``requests`` takes: ``{"file": (filename, handle_or_bytes[, content_type])}``
    with binary handles read from their current position. ``len()`` is the exact body size.
    """

    def __init__(self, fields: Mapping[str, Any] | None, files: Mapping[str, Any], boundary: str = "") -> None:
        self.boundary = boundary or secrets.token_hex(16)
        # Envelope bytes, and [handle, bytes still to send] for each file, in body order.
        self._parts: list[bytes | list] = []
        self._length = 0
        for name, value in (fields or {}).items():
            if value is None:
                continue
            self._add(
                f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode()
                + _as_bytes(value)
                + b"\r\n"
            )
        for name, spec in files.items():
            filename, content, content_type = self._unpack(name, spec)
            header = f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"'
            if filename:
                header += f'; filename="{_quote(filename)}"'
            if content_type:
                header += f"\r\nContent-Type: {content_type}"
            self._add(f"{header}\r\n\r\n".encode())
            self._add(content)
            self._add(b"\r\n")
        self._add(f"--{self.boundary}--\r\n".encode())
        self._index = 0

    @staticmethod
    def _unpack(name: str, spec: Any) -> tuple[str, bytes | IO[bytes], str]:
        if isinstance(spec, tuple | list):
            filename, content = spec[0], spec[1]
            content_type = spec[2] if len(spec) > 2 else ""
        else:
            content, content_type = spec, ""
            filename = os.path.basename(getattr(spec, "name", "") or name)
        if isinstance(content, str):
            content = content.encode("utf-8")
        return str(filename or ""), content, content_type or ""

    def _add(self, part: bytes | IO[bytes]) -> None:
        if isinstance(part, bytes | bytearray):
            if self._parts and isinstance(self._parts[-1], bytes):
                self._parts[-1] += part  # adjacent envelope pieces travel as one chunk
            else:
                self._parts.append(bytes(part))
            self._length += len(part)
            return
        size = _remaining(part)
        self._parts.append([part, size])
        self._length += size

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the body (all that is left when ``size`` < 0)."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(READ_SIZE), b""))
        out = bytearray()
        while len(out) < size and self._index < len(self._parts):
            part = self._parts[self._index]
            if isinstance(part, bytes):
                take = part[: size - len(out)]
                out += take
                if len(take) < len(part):
                    self._parts[self._index] = part[len(take) :]
                else:
                    self._index += 1
                continue
            handle, left = part
            # Never past the length announced in Content-Length, even if the file grew.
            data = handle.read(min(size - len(out), left)) if left else b""
            if not data:
                if left:
                    raise OSError(f"{getattr(handle, 'name', 'a file')} ended {left} bytes early")
                self._index += 1
                continue
            out += data
            part[1] = left - len(data)
        return bytes(out)

    def __iter__(self) -> Iterator[bytes]:
        return iter(lambda: self.read(READ_SIZE), b"")
