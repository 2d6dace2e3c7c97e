from pathlib import Path

import pytest

from engine.registry import Registry

TESTS = Path(__file__).parent
DEMO = TESTS / "fixtures" / "demo"


@pytest.fixture(scope="session")
def demo() -> Registry:
    """The illustrative pair: demo_base (2020–2021) and demo_amend (from 2022), which amends it."""
    return Registry.load(DEMO)
