"""The assistant aid of 2023 and 2024 as an OpenFisca-Core model (for the benchmark only).

Same rules as rulesets/reglement_arbitral_2023.mil and convention_2024.mil, restricted to
what both texts establish: eligibility at signature (sector/OPTAM, excluded specialties,
GP P30 775 patients MT / others percentile > 30, surgeons — and from 2024 ORL and
gynaecologists — under 20 % CCAM fees, options 1/2 and 1 ETP) and the annual aid of the
current contract year with the P90–P95 majoration and the ≥ P95 fixed amount, the amounts
being those in force on the anniversary that opened the year. Money is OpenFisca's float
(float32); amounts here are whole euros, so they are exact and comparable to the cent.
"""
from __future__ import annotations

import numpy as np
from openfisca_core.entities import build_entity
from openfisca_core.parameters import ParameterNode
from openfisca_core.periods import DateUnit
from openfisca_core.simulations import SimulationBuilder
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_core.variables import Variable

SPECIALTIES = ["medecine_generale", "pediatrie", "cardiologie", "dermatologie", "endocrinologie",
               "gastro_enterologie", "gynecologie", "neurologie", "ophtalmologie", "orl", "pneumologie",
               "psychiatrie", "rhumatologie", "nephrologie", "medecine_interne", "medecine_physique", "geriatrie",
               "chirurgie_generale", "chirurgie_orthopedique", "chirurgie_viscerale", "chirurgie_vasculaire",
               "chirurgie_plastique", "neurochirurgie", "urologie", "radiologie", "radiotherapie", "stomatologie",
               "anesthesiologie", "anatomo_cyto_pathologie", "medecine_nucleaire"]
CODE = {name: i for i, name in enumerate(SPECIALTIES)}
OPTIONS = {"third": 0, "half": 1, "full": 2}
EXCLUDED = [CODE[s] for s in ("radiologie", "radiotherapie", "stomatologie", "anesthesiologie",
                              "anatomo_cyto_pathologie", "medecine_nucleaire")]
SURGEONS = [CODE[s] for s in ("chirurgie_generale", "chirurgie_orthopedique", "chirurgie_viscerale",
                              "chirurgie_vasculaire", "chirurgie_plastique", "neurochirurgie", "urologie")]
CAPPED_FROM_2024 = [CODE["orl"], CODE["gynecologie"]]
CONVENTION_2024 = 20240622  # yyyymmdd


def _amounts(y2023, y2024):
    return {"values": {"2023-05-01": {"value": y2023}, "2024-06-22": {"value": y2024}}}


PARAMETERS = {
    "gp_p30": _amounts(775, 775),
    "ccam_cap": _amounts(0.20, 0.20),
    # [year 1, year 2, year 3+, P90–P95 from year 3, ≥ P95] by option
    "half": {f"y{i}": _amounts(a, b) for i, (a, b) in enumerate(
        [(18000, 19000), (13500, 14000), (10500, 11000), (12500, 13000), (18000, 19000)])},
    "full": {f"y{i}": _amounts(a, b) for i, (a, b) in enumerate(
        [(36000, 38000), (27000, 28000), (21000, 22000), (25000, 26000), (36000, 38000)])},
}

Person = build_entity(key="person", plural="persons", label="Médecin", is_person=True)


def _input(name, value_type, default=0):
    return type(name, (Variable,), {"value_type": value_type, "entity": Person, "default_value": default,
                                    "definition_period": DateUnit.MONTH, "label": name})


specialty = _input("specialty", int)
sector = _input("sector", int)
optam = _input("optam", bool, False)
patients_mt = _input("patients_mt", int)
percentile = _input("percentile", float)
ccam_fee_share = _input("ccam_fee_share", float)
option = _input("option", int)
signed_key = _input("signed_key", int)  # signature date as yyyymmdd


def _on_key(period) -> int:
    d = period.start
    return d.year * 10000 + d.month * 100 + d.day


class contract_year(Variable):
    value_type, entity, definition_period, label = int, Person, DateUnit.MONTH, "Année de contrat"

    def formula(person, period):
        return (_on_key(period) - person("signed_key", period)) // 10000 + 1


class eligible(Variable):
    value_type, entity, definition_period, label = bool, Person, DateUnit.MONTH, "Éligible (à la signature)"

    def formula(person, period, parameters):
        code = person("specialty", period)
        signed = person("signed_key", period)
        under_2024 = signed >= CONVENTION_2024
        p23, p24 = parameters("2023-05-01"), parameters("2024-06-22")
        p30 = np.where(under_2024, p24.gp_p30, p23.gp_p30)
        cap = np.where(under_2024, p24.ccam_cap, p23.ccam_cap)
        gp = code == CODE["medecine_generale"]
        above_p30 = np.where(gp, person("patients_mt", period) > p30, person("percentile", period) > 30)
        capped = np.isin(code, SURGEONS) | (under_2024 & np.isin(code, CAPPED_FROM_2024))
        return ((person("sector", period) == 1) | person("optam", period)) & ~np.isin(code, EXCLUDED) \
            & above_p30 & (person("option", period) >= OPTIONS["half"]) \
            & (~capped | (person("ccam_fee_share", period) < cap))


class annual_aid(Variable):
    value_type, entity, definition_period, label = float, Person, DateUnit.MONTH, "Aide annuelle maximale"

    def formula(person, period, parameters):
        year = person("contract_year", period)
        pct = person("percentile", period)
        full = person("option", period) == OPTIONS["full"]
        opened_2024 = person("signed_key", period) + (year - 1) * 10000 >= CONVENTION_2024
        p23, p24 = parameters("2023-05-01"), parameters("2024-06-22")

        def cell(i):
            v23 = np.where(full, p23.full[f"y{i}"], p23.half[f"y{i}"])
            v24 = np.where(full, p24.full[f"y{i}"], p24.half[f"y{i}"])
            return np.where(opened_2024, v24, v23)
        amount = np.select([(year >= 2) & (pct >= 95), (year >= 3) & (pct >= 90), year == 1, year == 2],
                           [cell(4), cell(3), cell(0), cell(1)], cell(2))
        return np.where(person("eligible", period), amount, 0)


class AssistantAid(TaxBenefitSystem):
    def __init__(self):
        super().__init__([Person])
        self.parameters = ParameterNode("", data=PARAMETERS)
        for variable in (specialty, sector, optam, patients_mt, percentile, ccam_fee_share, option, signed_key,
                         contract_year, eligible, annual_aid):
            self.add_variable(variable)


def arrays(cases: list[dict]) -> dict[str, np.ndarray]:
    """The population as OpenFisca input columns."""
    def key(d):
        return d.year * 10000 + d.month * 100 + d.day
    p = [c["physician"] for c in cases]
    k = [c["contract"] for c in cases]
    return {
        "specialty": np.array([CODE[x["specialty"]] for x in p]),
        "sector": np.array([x["sector"] for x in p]),
        "optam": np.array([x["optam"] for x in p]),
        "patients_mt": np.array([x["patients_mt"] for x in p]),
        "percentile": np.array([float(x["percentile"]) for x in p], dtype=np.float32),
        "ccam_fee_share": np.array([float(x["ccam_fee_share"]) for x in p], dtype=np.float32),
        "option": np.array([OPTIONS[x["option"]] for x in k]),
        "signed_key": np.array([key(x["signed_on"]) for x in k]),
    }


def simulate(system: AssistantAid, columns: dict[str, np.ndarray], period: str):
    n = len(next(iter(columns.values())))
    simulation = SimulationBuilder().build_default_simulation(system, n)
    for name, values in columns.items():
        simulation.set_input(name, period, values)
    return simulation.calculate("eligible", period), simulation.calculate("annual_aid", period)


def arrays_from_arrow(table) -> dict[str, np.ndarray]:
    """The same input columns from the Arrow table Millésime reads (bench/population.flat rows):
    text columns encoded once per distinct value, dates as yyyymmdd, decimals as float32 —
    OpenFisca's end-to-end counterpart of Millésime's `evaluate_table`."""
    import pyarrow.compute as pc

    def codes(name, mapping):
        encoded = pc.dictionary_encode(table.column(name)).combine_chunks()
        lookup = np.array([mapping[v] for v in encoded.dictionary.to_pylist()])
        return lookup[encoded.indices.to_numpy()]

    def column(name, dtype=None):
        values = table.column(name).to_numpy()
        return values if dtype is None else values.astype(dtype)
    signed = table.column("contract_signed_on")
    return {
        "specialty": codes("specialty", CODE),
        "sector": column("sector"),
        "optam": column("optam"),
        "patients_mt": column("patients_mt"),
        "percentile": column("percentile", np.float32),
        "ccam_fee_share": pc.cast(table.column("ccam_fee_share"), "float32").to_numpy(),
        "option": codes("contract_option", OPTIONS),
        "signed_key": (pc.year(signed).to_numpy() * 10000 + pc.month(signed).to_numpy() * 100
                       + pc.day(signed).to_numpy()),
    }
