"""Case files and case validation (issue 16): no input makes a message of megabytes."""
import datetime as dt

import pytest

from engine import evaluate
from engine.case import CaseError


def test_a_value_quoted_in_a_validation_error_is_cut_short():
    nested = ["lol"] * 9
    for _ in range(5):
        nested = [nested] * 9  # shared, as aliases build it: 9⁶ strings when written out
    with pytest.raises(CaseError) as info:
        evaluate({"physician": {"specialty": nested, "sector": "z" * 5000}}, dt.date(2025, 9, 1))
    assert len(str(info.value)) < 3000
    assert "z" * 100 not in str(info.value)
