"""A seeded synthetic population of liberal physicians with an assistant contract.

Contracts are signed between 2023-05-01 and the evaluation date (2025-09-01), so each is
governed by the règlement arbitral of 2023 or the convention of 2024, and its current
contract year (1 to 3) takes the amounts in force on the anniversary that opened it: the
three engines compare eligibility and annual aid across both agreements. Every physician
has a percentile (the rulesets leave the GP percentile above P50 not established).
"""
from __future__ import annotations

import datetime as dt
import random

ON = dt.date(2025, 9, 1)
FIRST_SIGNATURE = dt.date(2023, 5, 1)

SPECIALTIES = [  # (name, weight): mostly GPs, some surgeons/ORL/gynaecologists, a few excluded
    ("medecine_generale", 50), ("pediatrie", 5), ("cardiologie", 5), ("dermatologie", 4), ("psychiatrie", 4),
    ("ophtalmologie", 4), ("gynecologie", 4), ("orl", 3), ("chirurgie_orthopedique", 3), ("urologie", 2),
    ("chirurgie_generale", 2), ("radiologie", 3), ("anesthesiologie", 3), ("rhumatologie", 4), ("neurologie", 4),
]
OPTIONS = [("half", 45), ("full", 50), ("third", 5)]  # 1/3 ETP without renewal: closed since 2023


def population(n: int, seed: int = 2024) -> list[dict]:
    rng = random.Random(seed)
    names, weights = zip(*SPECIALTIES)
    options, option_weights = zip(*OPTIONS)
    days = (ON - FIRST_SIGNATURE).days
    cases = []
    for _ in range(n):
        specialty = rng.choices(names, weights)[0]
        sector = rng.choice((1, 1, 1, 2))
        patients_mt = rng.randint(300, 2600) if specialty in ("medecine_generale", "pediatrie") else rng.randint(0, 300)
        file_active = rng.randint(600, 4000)
        percentile = rng.choice((rng.randint(0, 100), rng.randint(85, 100)))  # many high patientèles
        signed = FIRST_SIGNATURE + dt.timedelta(days=rng.randrange(days))
        cases.append({
            "physician": {"specialty": specialty, "sector": sector, "optam": rng.random() < 0.4,
                          "patients_mt": patients_mt, "file_active": file_active, "percentile": percentile,
                          "ccam_fee_share": f"0.{rng.randint(0, 40):02d}"},
            "contract": {"signed_on": signed, "option": rng.choices(options, option_weights)[0],
                         "initial_patients_mt": patients_mt, "initial_file_active": file_active},
        })
    return cases


def flat(case: dict) -> dict:
    """The flat row of `millesime batch` (physician fields bare, contract fields prefixed)."""
    row = dict(case["physician"])
    row.update({f"contract_{k}": v for k, v in case["contract"].items()})
    return row
