"""The keys of the encrypted model fields: write with CRYPTOGRAPHY_KEY, read with it or an old one.

django-cryptography (``encrypt(models.TextField())``) seals a value with AES-CBC under a
key derived from ``CRYPTOGRAPHY_KEY`` and authenticates it with an HMAC keyed by Django's
``SECRET_KEY``. It has no fallback keys, so changing ``CRYPTOGRAPHY_KEY`` made every
stored token unreadable, and so did rotating ``SECRET_KEY``. ``encrypt()`` below is the
library's field with one difference, the ``KeyRing`` that seals and opens its values:

- it writes with ``CRYPTOGRAPHY_KEY`` only, the HMAC keyed from that key too, so
  ``SECRET_KEY`` can rotate without touching the stored tokens;
- it reads values sealed with ``CRYPTOGRAPHY_KEY`` or any of ``CRYPTOGRAPHY_OLD_KEYS``, in
  this format or the library's (HMAC by ``SECRET_KEY`` or ``SECRET_KEY_FALLBACKS``).

``manage.py rotate_cryptography_key`` rewrites every value not yet in this format under the
current key; then the old keys can go. Same bytes layout as the library's (version byte,
timestamp, IV, ciphertext, SHA-256 HMAC), same column type, same migrations: the field
still deconstructs as ``django_cryptography.fields.encrypt``.
"""

from __future__ import annotations

import hashlib
import hmac
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import lru_cache
from typing import TypeVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.signing import BadSignature, SignatureExpired
from django.db import models
from django.db.models import BinaryField, ExpressionWrapper, F, Value
from django_cryptography import fields as library
from django_cryptography.core.signing import FernetSigner
from django_cryptography.utils.crypto import FernetBytes, InvalidToken

FieldT = TypeVar("FieldT", bound=models.Field)

# django-cryptography's key derivation (its CRYPTOGRAPHY_SALT and DIGEST defaults, which
# this project never changes): PBKDF2-SHA256, 30,000 iterations, a 32-byte AES key.
_LIBRARY_SALT = b"django-cryptography"
_LIBRARY_ITERATIONS = 30_000
# What the HMAC key of a value is derived from, next to its AES key.
_SIGNING_CONTEXT = b"galantis encrypted field signature v1"


@lru_cache(maxsize=32)
def _derive(raw: str) -> bytes:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=_LIBRARY_SALT, iterations=_LIBRARY_ITERATIONS)
    return kdf.derive(raw.encode())


def cipher_key(configured: str | bytes) -> bytes:
    """The AES key for a configured key.

    django-cryptography's settings class replaces ``settings.CRYPTOGRAPHY_KEY`` with the key
    it derived as soon as it is imported, so the current key usually arrives as those 32
    bytes; old keys, and keys set by tests, arrive as the text that was configured.
    """
    return configured if isinstance(configured, bytes) else _derive(configured)


def _signing_key(aes_key: bytes) -> bytes:
    return hmac.new(aes_key, _SIGNING_CONTEXT, hashlib.sha256).digest()


def _sealer(aes_key: bytes, signing_key: bytes | str) -> FernetBytes:
    return FernetBytes(aes_key, FernetSigner(signing_key))


class KeyRing:
    """Seals and opens encrypted field values (stands in for the library's ``FernetBytes``)."""

    def __deepcopy__(self, memo: dict) -> KeyRing:  # fields are deep-copied; the ring is shared
        return self

    def encrypt(self, data: bytes) -> bytes:
        aes_key = cipher_key(settings.CRYPTOGRAPHY_KEY)
        return _sealer(aes_key, _signing_key(aes_key)).encrypt(data)

    def decrypt(self, data: bytes, ttl: int | None = None) -> bytes:
        return self.open(data, ttl)[0]

    def open(self, data: bytes, ttl: int | None = None) -> tuple[bytes, bool]:
        """The plaintext of ``data`` and whether it is sealed as ``encrypt`` seals today."""
        for current, sealer, legacy in self._candidates():
            try:
                plain = sealer.decrypt(data, ttl)
            except SignatureExpired:
                raise
            except (BadSignature, InvalidToken):
                continue
            # The library's HMAC is keyed by SECRET_KEY alone, so it passes whatever AES key
            # is tried; a wrong one gives noise, which is almost never a valid pickle.
            if legacy and not _is_pickle(plain):
                continue
            return plain, current
        raise InvalidToken("No configured CRYPTOGRAPHY_KEY (or CRYPTOGRAPHY_OLD_KEYS) opens this value.")

    @staticmethod
    def _candidates() -> Iterator[tuple[bool, FernetBytes, bool]]:
        """(is current, sealer, is library format), the current key first."""
        keys = [cipher_key(settings.CRYPTOGRAPHY_KEY)]
        keys += [cipher_key(key) for key in getattr(settings, "CRYPTOGRAPHY_OLD_KEYS", ()) if key]
        for n, aes_key in enumerate(keys):
            yield n == 0, _sealer(aes_key, _signing_key(aes_key)), False
        secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())]
        for aes_key in keys:
            for secret in secrets:
                yield False, _sealer(aes_key, secret), True


def _is_pickle(plain: bytes) -> bool:
    if not (plain.startswith(b"\x80") and plain.endswith(b".")):
        return False
    try:
        pickle.loads(plain)  # authenticated by our own HMAC: data we wrote
    except Exception:
        return False
    return True


KEY_RING = KeyRing()


def encrypt(base_field: FieldT) -> FieldT:
    """django-cryptography's ``encrypt(base_field)``, sealed and opened by ``KEY_RING``."""
    field = library.encrypt(base_field)
    field._fernet = KEY_RING
    return field


# Rows read per query while resealing.
RESEAL_CHUNK = 500


@dataclass
class Resealed:
    """What resealing one encrypted column found and did."""

    label: str  # app_label.Model.field
    values: int = 0  # non-null values seen
    rewritten: int = 0  # sealed anew under the current key (or would be, in a dry run)
    unreadable: list = dataclass_field(default_factory=list)  # pks no configured key opens


def reseal_all(*, dry_run: bool = False) -> list[Resealed]:
    """Rewrite every encrypted value not yet sealed under ``CRYPTOGRAPHY_KEY`` (idempotent)."""
    return [reseal_column(model, column, dry_run=dry_run) for model, column in encrypted_fields()]


def reseal_column(model: type[models.Model], column: models.Field, *, dry_run: bool = False) -> Resealed:
    """Reseal one encrypted column, row by row, each by a conditional UPDATE.

    The UPDATE names the ciphertext it read, so a value the application changed meanwhile
    (already sealed under the current key) is left alone rather than overwritten.
    """
    result = Resealed(f"{model._meta.label}.{column.name}")
    raw = ExpressionWrapper(F(column.name), output_field=BinaryField())
    rows = model._base_manager.annotate(_sealed=raw).filter(**{f"{column.name}__isnull": False})
    last = None
    while True:
        page = rows.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        chunk = list(page.values_list("pk", "_sealed")[:RESEAL_CHUNK])
        if not chunk:
            return result
        for pk, sealed in chunk:
            result.values += 1
            sealed = bytes(sealed)
            try:
                plain, current = KEY_RING.open(sealed)
            except InvalidToken:
                result.unreadable.append(pk)
                continue
            if current:
                continue
            result.rewritten += 1
            if not dry_run:
                rows.filter(pk=pk, _sealed=sealed).update(
                    **{column.name: Value(KEY_RING.encrypt(plain), output_field=BinaryField())}
                )
        last = chunk[-1][0]


def encrypted_fields() -> Iterator[tuple[type[models.Model], models.Field]]:
    """Every encrypted field of every installed (concrete, managed) model."""
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.local_concrete_fields:
            if isinstance(field, library.EncryptedMixin):
                yield model, field


@checks.register(checks.Tags.security)
def check_encrypted_fields_use_the_key_ring(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """An encrypted field made with the library's own ``encrypt`` would ignore the old keys."""
    return [
        checks.Error(
            f"{model._meta.label}.{field.name} is encrypted without the key ring.",
            hint="Declare it with galantis.fieldcrypto.encrypt(), not django_cryptography.fields.encrypt().",
            obj=field,
            id="galantis.E001",
        )
        for model, field in encrypted_fields()
        if getattr(field, "_fernet", None) is not KEY_RING
    ]
