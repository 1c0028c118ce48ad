"""Kubernetes quantity parsing and formatting: exact values and round trips."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rikugame.core import quantities


@pytest.mark.parametrize(("text", "millicores"), [
    pytest.param("250m", 250, id="millicores"),
    pytest.param("0.1", 100, id="decimal-exact"),
    pytest.param("1", 1000, id="one-core"),
    pytest.param("2.5", 2500, id="fraction"),
    pytest.param("100u", 1, id="micro-rounds-up"),
    pytest.param("1e-3", 1, id="exponent"),
    pytest.param(2, 2000, id="int"),
    pytest.param(0.5, 500, id="float"),
])
def test_cpu_quantities_parse_to_exact_millicores(text, millicores):
    assert quantities.cpu_millicores(text) == millicores


@pytest.mark.parametrize(("text", "num_bytes"), [
    pytest.param("512Mi", 512 * 2**20, id="Mi"),
    pytest.param("1.5Gi", 3 * 2**29, id="fractional-Gi"),
    pytest.param("1G", 10**9, id="decimal-G"),
    pytest.param("128974848e0", 128974848, id="exponent"),
    pytest.param("1k", 1000, id="k"),
    pytest.param("100", 100, id="plain"),
])
def test_memory_quantities_parse_to_exact_bytes(text, num_bytes):
    assert quantities.memory_bytes(text) == num_bytes


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "12Qi", "--1", "1 Gi"])
def test_invalid_quantities_are_rejected_with_the_text_named(text):
    with pytest.raises(ValueError, match="quantity"):
        quantities.parse_quantity(text)


def test_negative_quantities_are_rejected():
    with pytest.raises(ValueError, match="negative"):
        quantities.cpu_millicores("-1")


@pytest.mark.parametrize(("millicores", "text"), [(250, "250m"), (2000, "2"), (1500, "1500m"), (0, "0")])
def test_cpu_formats_to_the_shortest_exact_form(millicores, text):
    assert quantities.format_cpu(millicores) == text


@pytest.mark.parametrize(("num_bytes", "text"), [
    (512 * 2**20, "512Mi"), (1536 * 2**20, "1536Mi"), (2**30, "1Gi"), (1000, "1000"), (0, "0")])
def test_memory_formats_to_the_shortest_exact_form(num_bytes, text):
    assert quantities.format_memory(num_bytes) == text


@given(st.integers(min_value=0, max_value=10**9))
def test_cpu_round_trip(millicores):
    assert quantities.cpu_millicores(quantities.format_cpu(millicores)) == millicores


@given(st.integers(min_value=0, max_value=2**50))
def test_memory_round_trip(num_bytes):
    assert quantities.memory_bytes(quantities.format_memory(num_bytes)) == num_bytes
