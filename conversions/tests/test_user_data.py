"""Customer information: our normalisation and hashes equal the official SDK's on awkward inputs."""

from __future__ import annotations

import hashlib

import pytest
from facebook_business.adobjects.serverside.normalize import Normalize

from conversions import user_data

# (key, what a shop holds): every value the SDK accepts; ours must give the same hash.
AWKWARD = [
    ("em", "  Buyer@Example.COM "),
    ("em", "jose.garcia+shop@correo.es"),
    ("em", "ÉLODIE@exemple.fr"),
    ("ph", "+1 (650) 555-1234"),
    ("ph", "+44 20 7946 0958"),
    ("ph", "0044 20 7946 0958"),
    ("ph", "+351 912 345 678"),
    ("ph", "+39 06 1234 5678"),
    ("ph", " +33-6-12-34-56-78 "),
    ("fn", "  JOSÉ "),
    ("fn", "Zoë"),
    ("ln", "García Márquez"),
    ("ln", "O'Brien"),
    ("ct", "São Paulo"),
    ("ct", "Saint-Étienne"),
    ("ct", " NEW YORK 10001 "),
    ("ct", "Washington D.C."),
    ("zp", " 94105-1234 "),
    ("zp", "SW1A 1AA"),
    ("zp", "01001"),
    ("zp", "1100-148"),
    ("country", " US "),
    ("country", "pt"),
    ("country", "G.B."),
    ("external_id", " 7712345678901 "),
    ("external_id", "Customer-ABC"),
    ("em", hashlib.sha256(b"already@hashed.com").hexdigest().upper()),
]


@pytest.mark.parametrize(("key", "value"), AWKWARD)
def test_our_hash_equals_the_sdks(key, value):
    assert user_data.hashed(key, [value]) == [Normalize.normalize_field(key, value)]


# National numbers (as typed in an address) + the address's country: we add the calling
# code, so the hash equals the SDK's of the international form.
NATIONAL = [
    ("912 345 678", "PT", "+351 912 345 678"),
    ("020 7946 0958", "GB", "+44 20 7946 0958"),
    ("(650) 555-1234", "US", "+1 650 555 1234"),
    ("1 650 555 1234", "US", "+1 650 555 1234"),
    ("06 1234 5678", "IT", "+39 06 1234 5678"),
    ("030 123456", "DE", "+49 30 123456"),
    ("351912345678", "PT", "+351912345678"),
    ("8 (912) 345-67-89", "RU", "+7 912 345 67 89"),
]


@pytest.mark.parametrize(("national", "country", "international"), NATIONAL)
def test_a_national_phone_gets_the_calling_code_of_the_address_country(national, country, international):
    assert user_data.hashed("ph", [national], country=country) == [Normalize.normalize_field("ph", international)]


def test_a_national_phone_without_a_country_is_left_out():
    assert user_data.hashed("ph", ["912 345 678"]) == []


@pytest.mark.parametrize("value", ["not-an-email", "   ", None])
def test_an_invalid_email_is_left_out(value):
    assert user_data.hashed("em", [value]) == []


def test_an_extension_is_cut_from_a_phone():
    assert user_data.normalize("ph", "+1 650 555 1234 ext. 12") == "16505551234"


def test_an_unknown_country_is_left_out():
    assert user_data.hashed("country", ["ZZ"]) == []


def test_duplicates_are_sent_once():
    assert len(user_data.hashed("em", ["a@b.co", " A@B.CO "])) == 1


def test_client_ip_and_user_agent_are_not_hashed():
    data = user_data.build({"em": ["a@b.co"]}, client_ip_address="203.0.113.7", client_user_agent="Mozilla/5.0")
    assert data["client_ip_address"] == "203.0.113.7" and data["client_user_agent"] == "Mozilla/5.0"
    assert data["em"] == [hashlib.sha256(b"a@b.co").hexdigest()]


def test_product_code_does_not_import_the_sdk():
    import pathlib
    import re

    imports_sdk = re.compile(r"^\s*(from|import)\s+facebook_business", re.MULTILINE)
    for path in pathlib.Path(user_data.__file__).parent.glob("*.py"):
        assert not imports_sdk.search(path.read_text()), path
