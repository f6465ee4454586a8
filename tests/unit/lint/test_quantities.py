"""Quantities are exact, so a quota at exactly 1.2 or 1.3 x its peak is inside the band."""

from __future__ import annotations

from decimal import Decimal

import pytest

from validator.lint.quantities import QuantityError, parse_quantity


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("22500m", Decimal("22.5")),
        ("13750m", Decimal("13.75")),
        ("14080Mi", Decimal(11 * 1024 * 1.25) * 2**20),
        ("90Gi", Decimal(90) * 2**30),
        ("1e3", Decimal(1000)),
        ("1.5", Decimal("1.5")),
        (13, Decimal(13)),
        ("100k", Decimal(100_000)),
    ],
)
def test_parses_kubernetes_quantities(text: object, expected: Decimal) -> None:
    assert parse_quantity(text) == expected


def test_band_edges_are_exact() -> None:
    peak = parse_quantity("18")
    assert parse_quantity("21600m") == peak * Decimal("1.2")
    assert parse_quantity("23400m") == peak * Decimal("1.3")


@pytest.mark.parametrize("text", ["lots", "1.2.3", "5 Gi", "", True, None, "1Gb"])
def test_rejects_what_is_not_a_quantity(text: object) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)
