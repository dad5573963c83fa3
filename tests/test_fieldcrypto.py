"""Encrypted fields: CRYPTOGRAPHY_KEY rotates through CRYPTOGRAPHY_OLD_KEYS and rotate_cryptography_key,
and SECRET_KEY rotates without touching stored tokens."""

import json
import pickle
from io import StringIO

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.db import connection
from django_cryptography.core.signing import FernetSigner
from django_cryptography.utils.crypto import FernetBytes, InvalidToken

from catalog.models import MetaConnection, ShopifyStore
from catalog.tests.factories import MetaConnectionFactory, ShopifyStoreFactory
from galantis import fieldcrypto

pytestmark = pytest.mark.django_db

OLD_KEY = "old-field-key-" + "o" * 32
NEW_KEY = "new-field-key-" + "n" * 32


def raw(model, pk: int, column: str = "access_token") -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])
        return bytes(cursor.fetchone()[0])


def write_raw(model, pk: int, value: bytes, column: str = "access_token") -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {model._meta.db_table} SET {column} = %s WHERE id = %s", [value, pk])


def library_sealed(value: str, key: str, secret_key: str) -> bytes:
    """A value as django-cryptography's own field seals it: AES key from ``key``, HMAC by SECRET_KEY."""
    return FernetBytes(fieldcrypto.cipher_key(key), FernetSigner(secret_key)).encrypt(pickle.dumps(value))


@pytest.fixture
def old_key(settings):
    settings.CRYPTOGRAPHY_KEY = OLD_KEY
    settings.CRYPTOGRAPHY_OLD_KEYS = []
    return settings


def rotate(settings, *args: str) -> str:
    settings.CRYPTOGRAPHY_KEY = NEW_KEY
    settings.CRYPTOGRAPHY_OLD_KEYS = [OLD_KEY]
    out = StringIO()
    call_command("rotate_cryptography_key", *args, stdout=out)
    return out.getvalue()


def test_rows_written_with_the_old_key_are_readable_after_rotation_with_only_the_new_key(old_key):
    store = ShopifyStoreFactory(access_token="shpat_rotate_me", webhook_secret="whsec-rotate-me")
    meta = MetaConnectionFactory(access_token="EAArotatemetoken")
    empty = MetaConnectionFactory(access_token="")
    before = raw(ShopifyStore, store.pk)

    output = rotate(old_key)
    assert "catalog.ShopifyStore.access_token: 1 values, 1 rewritten" in output
    assert "catalog.MetaConnection.access_token: 2 values, 2 rewritten" in output
    assert raw(ShopifyStore, store.pk) != before

    old_key.CRYPTOGRAPHY_OLD_KEYS = []  # the old key is gone
    store = ShopifyStore.objects.get(pk=store.pk)
    assert (store.access_token, store.webhook_secret) == ("shpat_rotate_me", "whsec-rotate-me")
    assert MetaConnection.objects.get(pk=meta.pk).access_token == "EAArotatemetoken"
    assert MetaConnection.objects.get(pk=empty.pk).access_token == ""


def test_without_the_old_key_the_old_rows_cannot_be_read(old_key):
    store = ShopifyStoreFactory(access_token="shpat_old")
    old_key.CRYPTOGRAPHY_KEY = NEW_KEY
    with pytest.raises(InvalidToken):
        ShopifyStore.objects.get(pk=store.pk)


def test_during_the_rotation_old_rows_read_and_new_writes_use_the_new_key(old_key):
    old = ShopifyStoreFactory(access_token="shpat_old")
    old_key.CRYPTOGRAPHY_KEY, old_key.CRYPTOGRAPHY_OLD_KEYS = NEW_KEY, [OLD_KEY]
    new = ShopifyStoreFactory(access_token="shpat_new")
    assert ShopifyStore.objects.get(pk=old.pk).access_token == "shpat_old"
    assert fieldcrypto.KEY_RING.open(raw(ShopifyStore, new.pk))[1] is True  # sealed under the current key
    assert fieldcrypto.KEY_RING.open(raw(ShopifyStore, old.pk))[1] is False


def test_rotation_is_idempotent_and_a_dry_run_writes_nothing(old_key):
    store = ShopifyStoreFactory(access_token="shpat_x")
    before = raw(ShopifyStore, store.pk)
    assert "1 would rewrite" in rotate(old_key, "--dry-run")
    assert raw(ShopifyStore, store.pk) == before
    rotate(old_key)
    after = raw(ShopifyStore, store.pk)
    result = json.loads(rotate(old_key, "--json"))
    assert {f["field"]: f["rewritten"] for f in result["fields"]}["catalog.ShopifyStore.access_token"] == 0
    assert raw(ShopifyStore, store.pk) == after


def test_a_value_no_key_opens_is_reported_and_fails_the_command(old_key):
    good = ShopifyStoreFactory(access_token="shpat_good")
    lost = ShopifyStoreFactory(access_token="shpat_lost")
    write_raw(ShopifyStore, lost.pk, library_sealed("shpat_lost", "a-key-nobody-has-" + "z" * 20, "other-secret"))
    with pytest.raises(CommandError, match="1 value"):
        rotate(old_key)
    old_key.CRYPTOGRAPHY_OLD_KEYS = []
    assert ShopifyStore.objects.get(pk=good.pk).access_token == "shpat_good"  # the others were resealed


def test_values_sealed_by_the_library_itself_are_read_and_resealed(old_key):
    """Rows written before the key ring: HMAC keyed by SECRET_KEY, AES key from CRYPTOGRAPHY_KEY."""
    store = ShopifyStoreFactory()
    write_raw(ShopifyStore, store.pk, library_sealed("shpat_legacy", OLD_KEY, old_key.SECRET_KEY))
    assert ShopifyStore.objects.get(pk=store.pk).access_token == "shpat_legacy"
    rotate(old_key)
    old_key.CRYPTOGRAPHY_OLD_KEYS = []
    old_key.SECRET_KEY = "a-rotated-secret-key-" + "s" * 40  # now SECRET_KEY can change on its own
    assert ShopifyStore.objects.get(pk=store.pk).access_token == "shpat_legacy"


def test_a_library_value_reads_under_a_secret_key_fallback(old_key):
    store = ShopifyStoreFactory()
    write_raw(ShopifyStore, store.pk, library_sealed("shpat_fallback", OLD_KEY, "the-previous-secret-key"))
    old_key.SECRET_KEY_FALLBACKS = ["the-previous-secret-key"]
    assert ShopifyStore.objects.get(pk=store.pk).access_token == "shpat_fallback"


def test_secret_key_rotation_does_not_touch_values_written_now(old_key):
    store = ShopifyStoreFactory(access_token="shpat_kept")
    old_key.SECRET_KEY = "a-rotated-secret-key-" + "s" * 40
    assert ShopifyStore.objects.get(pk=store.pk).access_token == "shpat_kept"


def test_the_derivation_is_the_librarys():
    """django-cryptography stored its derived key in settings.CRYPTOGRAPHY_KEY: ours matches it."""
    from django.conf import settings as django_settings

    from galantis.settings import CRYPTOGRAPHY_KEY as configured

    assert fieldcrypto.cipher_key(configured) == django_settings.CRYPTOGRAPHY_KEY


def test_every_encrypted_field_uses_the_key_ring():
    labels = {f"{m._meta.label}.{f.name}" for m, f in fieldcrypto.encrypted_fields()}
    assert labels >= {
        "catalog.ShopifyStore.access_token",
        "catalog.ShopifyStore.webhook_secret",
        "catalog.MetaConnection.access_token",
    }
    assert not [e for e in run_checks() if e.id == "galantis.E001"]
