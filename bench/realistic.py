"""A realistic seeded population of liberal physicians, as `millesime batch` reads it (flat rows).

Unlike bench/population.py (contracts of 2023–2025 only, every percentile given), it has what a
national file has: every specialty of the enumeration (mostly GPs), physicians without a
contract (who are offered options), contracts signed from September 2019 to the evaluation
date under the three agreements, avenant-7 contracts switched to the 2023 rules, renewals,
targets written in the contract, observed patient counts as JSON for the years already checked,
percentiles often missing (then not established for specialists), second-assistant options.

    rows(n, seed)            → list of dicts of text cells (a CSV's cells)
    write_csv(path, n, seed) → the same rows in a CSV file, written in chunks
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import random

ON = dt.date(2026, 9, 1)
FIRST_SIGNATURE = dt.date(2019, 9, 1)
SWITCH_OPENING = dt.date(2023, 5, 1)
CONVENTION_2024 = dt.date(2024, 6, 22)

SPECIALTIES = [  # (code, weight): the enumeration of avenant7_2019.mil, mostly GPs
    ("medecine_generale", 45), ("pediatrie", 4), ("cardiologie", 4), ("dermatologie", 3), ("endocrinologie", 2),
    ("gastro_enterologie", 2), ("gynecologie", 4), ("neurologie", 2), ("ophtalmologie", 4), ("orl", 2),
    ("pneumologie", 2), ("psychiatrie", 4), ("rhumatologie", 2), ("nephrologie", 1), ("medecine_interne", 1),
    ("medecine_physique", 1), ("geriatrie", 1), ("chirurgie_generale", 1), ("chirurgie_orthopedique", 2),
    ("chirurgie_viscerale", 1), ("chirurgie_vasculaire", 1), ("chirurgie_plastique", 1), ("neurochirurgie", 1),
    ("urologie", 1), ("radiologie", 3), ("radiotherapie", 1), ("stomatologie", 1), ("anesthesiologie", 3),
    ("anatomo_cyto_pathologie", 1), ("medecine_nucleaire", 1),
]
COLUMNS = ["specialty", "sector", "optam", "patients_mt", "file_active", "percentile", "priority_zone",
           "coordinated_practice", "group_practice", "ccam_fee_share", "contract_signed_on", "contract_option",
           "contract_initial_patients_mt", "contract_initial_file_active", "contract_observed",
           "contract_switched_on", "contract_target_patients_mt", "contract_target_file_active",
           "contract_renewal"]


def _bool(rng: random.Random, p: float) -> str:
    return "true" if rng.random() < p else "false"


def _date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange(max((end - start).days, 1)))


def _years_between(start: dt.date, end: dt.date) -> int:
    years = end.year - start.year
    return years - 1 if (end.month, end.day) < (start.month, start.day) else years


def row(rng: random.Random, names, weights) -> dict:
    specialty = rng.choices(names, weights)[0]
    gp = specialty in ("medecine_generale", "pediatrie")
    patients_mt = rng.randint(300, 2600) if gp else rng.randint(0, 400)
    file_active = rng.randint(500, 5000)
    out = {c: "" for c in COLUMNS}
    out.update(specialty=specialty, sector=rng.choice("1112"), optam=_bool(rng, 0.4), patients_mt=str(patients_mt),
               file_active=str(file_active), priority_zone=_bool(rng, 0.3),
               coordinated_practice=_bool(rng, 0.8), group_practice=_bool(rng, 0.85))
    if rng.random() < 0.6:
        out["percentile"] = str(rng.choice((rng.randint(0, 100), rng.randint(80, 100))))
    if rng.random() < 0.35:
        out["ccam_fee_share"] = f"0.{rng.randint(0, 40):02d}"
    if rng.random() < 0.15:
        return out  # no contract: the options a physician could sign
    signed = _date(rng, FIRST_SIGNATURE, ON)
    if signed < SWITCH_OPENING:
        option = rng.choices(("third", "half", "full"), (10, 45, 45))[0]
    elif signed < CONVENTION_2024:
        option = rng.choices(("third", "half", "full"), (2, 48, 50))[0]
    else:
        option = rng.choices(("third", "half", "full", "one_and_half", "double"), (2, 46, 48, 2, 2))[0]
    initial_mt = max(0, patients_mt - rng.randint(0, 300))
    initial_fa = max(0, file_active - rng.randint(0, 600))
    out.update(contract_signed_on=signed.isoformat(), contract_option=option,
               contract_initial_patients_mt=str(initial_mt), contract_initial_file_active=str(initial_fa))
    start = signed
    if signed < SWITCH_OPENING and rng.random() < 0.25:
        start = _date(rng, SWITCH_OPENING, min(ON, dt.date(2024, 12, 31)))
        out["contract_switched_on"] = start.isoformat()
    if signed >= SWITCH_OPENING and rng.random() < 0.05:
        out["contract_renewal"] = "true"
    if rng.random() < 0.5:
        out["contract_target_patients_mt"] = str(initial_mt + rng.randint(0, 250))
        out["contract_target_file_active"] = str(initial_fa + rng.randint(0, 400))
    year = _years_between(start, ON) + 1
    if year >= 3 and rng.random() < 0.7:  # the counts of the years already checked (3rd onwards)
        observed = {}
        for y in range(3, min(year, 5) + 1):
            observed[str(y)] = {"patients_mt": initial_mt + rng.randint(-50, 300),
                                "file_active": initial_fa + rng.randint(-100, 500)}
        out["contract_observed"] = json.dumps(observed)
    return out


def rows(n: int, seed: int = 2026) -> list[dict]:
    rng = random.Random(seed)
    names, weights = zip(*SPECIALTIES)
    return [row(rng, names, weights) for _ in range(n)]


def write_csv(path, n: int, seed: int = 2026, chunk: int = 50_000) -> None:
    rng = random.Random(seed)
    names, weights = zip(*SPECIALTIES)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        done = 0
        while done < n:
            size = min(chunk, n - done)
            writer.writerows([r[c] for c in COLUMNS] for r in (row(rng, names, weights) for _ in range(size)))
            done += size
