"""The vector back-end's calendar: the looked-up span (many rows, few distinct dates) and the
arithmetic agree with Python's own dates."""
import datetime as dt

import numpy as np
import pytest

from engine import vector
from engine.vector import calendar


@pytest.mark.parametrize("low, span, size", [(19000, 400, 5000), (-719000, 100, 1000), (0, 3000, 100), (20000, 5, 65)])
def test_year_month_day_of_day_numbers(low, span, size):
    days = np.random.default_rng(low & 0xFFFF).integers(low, low + span, size)
    year, month, day = calendar._ymd(days)
    epoch = dt.date(1970, 1, 1)
    expected = [epoch + dt.timedelta(days=int(d)) for d in days]
    assert [dt.date(int(y), int(m), int(d)) for y, m, d in zip(year, month, day)] == expected
