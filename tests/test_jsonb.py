"""JSON columns read with orjson give exactly what json gives (galantis.jsonb)."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from galantis.jsonb import jsonb_text, jsonb_value

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_values = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20
)


def _typed(value):
    """``value`` with each number's type beside it: 1 and 1.0 are equal in Python, not in a column."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (type(value).__name__, value)


@settings(max_examples=500, deadline=None)
@given(_values)
def test_a_value_reads_back_as_json_reads_it(value):
    text = json.dumps(value)
    assert _typed(jsonb_value(text)) == _typed(json.loads(text))


@pytest.mark.parametrize(
    "text",
    [
        "18446744073709551616",  # 2**64: orjson would read a float
        "-9999999999999999999",
        '{"id": 123456789012345678901234}',
        "NaN",
        "[Infinity, -Infinity]",
        '"\\ud800"',  # a lone surrogate
        '{"a": 1, "a": 2}',
    ],
)
def test_what_orjson_reads_differently_or_refuses_is_read_by_json(text):
    read, expected = jsonb_value(text), json.loads(text)
    if isinstance(expected, list) and any(isinstance(x, float) and math.isinf(x) for x in expected):
        assert read == expected
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(read)
    else:
        assert _typed(read) == _typed(expected)


def test_text_that_is_no_json_raises_jsons_error():
    with pytest.raises(json.JSONDecodeError):
        jsonb_value("{not json")


@pytest.mark.django_db
def test_a_json_column_round_trips_long_integers_and_text():
    metafields = {"custom.big": 2**70, "custom.text": "Été «x» 😀", "custom.list": [1, 2.5, None, True]}
    product = ProductFactory(metafields=metafields)
    assert Product.objects.values_list("metafields", flat=True).get(pk=product.pk) == metafields
    assert json.loads(jsonb_text(metafields)) == metafields
