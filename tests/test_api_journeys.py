"""The API of the simulator's journeys (issue 14) and of assumptions (issue 12): POST /questions,
/contract, /why, `explain: false`, `partial`, `official_only`, `assume`, French messages.
Expected values worked out by hand from the rulesets' tables (arithmetic in the comments).

Needs the `serve` extra (fastapi, httpx); skipped without it.
"""
import json
import warnings

import pytest

pytest.importorskip("fastapi", reason="the `serve` extra (fastapi) is not installed")
pytest.importorskip("httpx", reason="the `serve` extra (httpx, for TestClient) is not installed")

with warnings.catch_warnings():  # starlette's notice about its future test client, not ours to fix
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from engine import shipped_registry  # noqa: E402
from engine.server import create_app  # noqa: E402

GP = {"specialty": "medecine_generale", "sector": 1, "optam": False, "patients_mt": 900, "file_active": 1500}
# A 1 ETP contract signed under the règlement arbitral, crossing into the 2024 convention; targets written
# in the contract, patients observed at the end of year 3.
CONTRACT = {"signed_on": "2023-06-15", "option": "full", "initial_patients_mt": 980, "initial_file_active": 1500,
            "target_patients_mt": 1180, "target_file_active": 1750,
            "observed": {"3": {"patients_mt": 1130, "file_active": 1700}}}
MEAN = 'hypotheses "Chiffrage"\nassume combined_rate reading mean because "lecture retenue pour le chiffrage"\n'
P70 = 'hypotheses "Seuil"\nassume gp_threshold[70] = 1 250 because "interpolation entre P50 et P90"\n'


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(shipped_registry()), base_url="http://localhost") as c:
        yield c


def post(client, path, body, status=200):
    r = client.post(path, json=body)
    assert r.status_code == status, r.text
    return r.json()


def questions(client, case, on="2024-07-01", **extra):
    out = post(client, "/questions", {"case": case, "on": on, **extra})
    return [m["path"] for m in out["missing"]], out


# ---------------------------------------------------------------- /questions

def test_a_general_practitioner_and_a_surgeon_are_asked_different_things(client):
    gp, _ = questions(client, {"physician": {"specialty": "medecine_generale"}})
    surgeon, out = questions(client, {"physician": {"specialty": "chirurgie_generale"}})
    # A GP's patientèle is counted in médecin-traitant patients; the CCAM share concerns surgeons only
    # (technical_acts_ok tests the specialty first): never read for a GP.
    assert gp == ["physician.sector", "physician.optam", "physician.patients_mt", "physician.file_active"]
    # A surgeon: the P30 is tested on the percentile (no published threshold), and the CCAM share
    # decides eligibility (« part des honoraires CCAM non renseignée » otherwise).
    assert surgeon == ["physician.sector", "physician.optam", "physician.percentile", "physician.ccam_fee_share",
                       "physician.file_active"]
    ccam = next(m for m in out["missing"] if m["path"] == "physician.ccam_fee_share")
    assert ccam == {"path": "physician.ccam_fee_share", "required": False, "type": "percent", "min": "0", "max": "1",
                    "label": "Part des honoraires d'actes techniques (CCAM) dans les honoraires totaux"}
    assert out["ready"] is False and out["ruleset"]["id"] == "convention_2024"
    _, gp_out = questions(client, {"physician": {"specialty": "medecine_generale"}})
    assert "physician.ccam_fee_share" not in [r["path"] for r in gp_out["read"]]


def test_a_complete_case_is_ready_and_unread_fields_are_not_asked(client):
    # Sector 1: « secteur 1, ou secteur 2 avec l'OPTAM » is decided before OPTAM is read.
    missing, out = questions(client, {"physician": {k: v for k, v in GP.items() if k != "optam"}})
    assert missing == [] and out["ready"] is True
    assert "physician.optam" not in [r["path"] for r in out["read"]]
    missing, out = questions(client, {"physician": {**{k: v for k, v in GP.items() if k != "optam"}, "sector": 2}})
    assert missing == ["physician.optam"] and out["ready"] is False


def test_the_percentile_is_asked_when_a_figure_depends_on_thresholds(client):
    # 900 patients: above P30 (775), at most P50 (1 045) → band 30..50 established: no question.
    missing, _ = questions(client, {"physician": GP})
    assert missing == []
    # 1 300 patients: above P50 (1 045) but P70 is unknown (between P50 and P90 = 1 503): band 50..70 or
    # 70..90, so the targets depend on gp_threshold[70] — which a percentile given would bypass.
    missing, out = questions(client, {"physician": {**GP, "patients_mt": 1300}})
    assert missing == ["physician.percentile"] and out["ready"] is True  # optional: asked, not required
    # Official sources only: P50, P90, P95 (secondary) are set aside, the 900 patients may be anywhere
    # from P30 up, and the amounts of years 2–5 depend on the thresholds.
    missing, _ = questions(client, {"physician": GP}, official_only=True)
    assert missing == ["physician.percentile"]


def test_questions_follow_the_contract(client):
    missing, out = questions(client, {"physician": GP, "contract": {}}, on="2025-09-01")
    # Nothing is known of the contract: its start decides which ruleset is consulted (`as of`), so
    # the physician's fields are not read yet; the contract's own come first.
    assert missing == ["contract.signed_on", "contract.initial_patients_mt", "contract.initial_file_active"]
    missing, out = questions(client, {"physician": GP, "contract": {k: v for k, v in CONTRACT.items()
                                                                   if not k.startswith("target")}}, on="2025-09-01")
    # The 2023 target table was not read: the targets written in the contract can establish them.
    assert missing == ["contract.target_patients_mt", "contract.target_file_active"] and out["ready"] is True
    read = {r["path"]: r for r in out["read"]}
    assert read["contract.switched_on"]["given"] is False and read["contract.switched_on"]["asked"] is False
    assert read["contract.observed"]["fields"] == [
        {"name": "patients_mt", "type": "int", "label": "Patientèle médecin traitant"},
        {"name": "file_active", "type": "int", "label": "File active (patients distincts vus sur douze mois)"}]


def test_questions_on_a_date_no_ruleset_covers_say_which_dates_are(client):
    out = post(client, "/questions", {"case": {}, "on": "2018-09-01"}, status=422)
    assert out["error"] == ("aucun texte n'est en vigueur le 01/09/2018 ; les textes couvrent : avenant7_2019 (du "
                            "21/08/2019 au 30/04/2023), reglement_arbitral_2023 (du 01/05/2023 au 21/06/2024), "
                            "convention_2024 (du 22/06/2024, sans date de fin)")


def test_questions_name_a_wrong_value_in_french(client):
    out = post(client, "/questions", {"case": {"physician": {"sector": "deux"}}}, status=422)
    assert out["problems"] == ["case.physician.sector: un nombre entier est attendu (reçu : 'deux')"]


# ---------------------------------------------------------------- lean answers

def test_explain_false_leaves_the_tree_out_but_not_reliance(client):
    body = {"case": {"physician": GP, "contract": CONTRACT}, "on": "2025-09-01"}
    full = post(client, "/evaluate", body)
    lean = post(client, "/evaluate", {**body, "explain": False})
    assert "explanation" in full and "explanation" not in lean
    assert lean["results"] == full["results"] and lean["reliance"] == full["reliance"]
    assert lean["fingerprint"] == full["fingerprint"]
    assert len(json.dumps(lean)) * 5 < len(json.dumps(full))
    options = post(client, "/options", {"physician": GP, "on": "2024-07-01", "explain": False})
    assert '"why"' not in json.dumps(options)


def test_why_gives_one_output_tree_with_french_displays(client):
    out = post(client, "/why", {"case": {"physician": GP, "contract": CONTRACT}, "on": "2025-09-01",
                                "output": "annual_aid"})
    tree = out["why"]
    assert (tree["name"], tree["value"], tree["display"]) == ("annual_aid", "22000.00", "22\u202f000,00 €")
    assert "defined_at" not in json.dumps(tree)
    bad = post(client, "/why", {"case": {"physician": GP}, "on": "2025-09-01", "output": "aide"}, status=422)
    assert bad["problems"][0].startswith("outputs: résultat inconnu « aide »")


# ---------------------------------------------------------------- « Je compte signer »: totals

def test_option_totals_are_exact_sums(client):
    out = post(client, "/options", {"physician": GP, "on": "2024-07-01", "explain": False})
    totals = {o["option"]: o["total"] for o in out["options"]}
    # 2024 table: 1/2 ETP 19 000 + 14 000 + 3 × 11 000 = 66 000; 1 ETP 38 000 + 28 000 + 3 × 22 000 = 132 000.
    assert totals == {"half": "66000.00", "full": "132000.00"}
    half = out["options"][0]["figures"]
    assert half["total"]["display"] == "66\u202f000,00 €"
    # The band 30..50 of 900 patients rests on P50 = 1 045, a secondary figure (Mesdocs): each amount says so.
    assert [e["name"] for e in half["amounts"][1]["reliance"]] == ["gp_threshold[50]"]


def test_official_only_makes_amounts_ranges_and_totals_sum_their_bounds(client):
    out = post(client, "/options", {"physician": GP, "on": "2024-07-01", "explain": False, "official_only": True})
    half = out["options"][0]
    # P50/P90/P95 set aside: 900 patients may be at P95 or above, whose fixed amount is year 1's (19 000).
    # Year 1: 19 000 either way. Year 2: 14 000 … 19 000. Years 3–5: 11 000 … 19 000 (P90–P95: 13 000).
    assert [f["display"] for f in half["figures"]["amounts"]] == [
        "19\u202f000,00 €", "entre 14\u202f000,00 € et 19\u202f000,00 €"] + ["entre 11\u202f000,00 € et 19\u202f000,00 €"] * 3
    # Total: low 19 000 + 14 000 + 3 × 11 000 = 66 000; high 5 × 19 000 = 95 000.
    assert half["total"]["between"] == ["66000.00", "95000.00"]
    assert half["figures"]["total"]["display"] == "entre 66\u202f000,00 € et 95\u202f000,00 €"
    assert "gp_threshold[50]" in [u["name"] for u in half["figures"]["total"]["decided_by"]]
    plain = post(client, "/options", {"physician": GP, "on": "2024-07-01", "explain": False})
    assert out["fingerprint"] != plain["fingerprint"]
    assert out["assumptions"] == {"official_only": True, "hypotheses": []}


# ---------------------------------------------------------------- assumptions

def test_a_hypothesis_decides_the_aid_due_and_is_listed_in_reliance(client):
    body = {"case": {"physician": GP, "contract": CONTRACT}, "on": "2025-09-01", "outputs": ["aid_due"],
            "explain": False}
    # Year 3 of a 1 ETP contract, amounts of the 2024 convention (anniversary 15/06/2025): 22 000.
    # Rates: médecin traitant (1 130 − 980) / (1 180 − 980) = 0.75; file active (1 700 − 1 500) / (1 750 −
    # 1 500) = 0.8. Readings: lowest 0.75 → 16 500; product 0.6 → 13 200; mean 0.775 → 17 050.
    open_ = post(client, "/evaluate", body)
    assert open_["results"]["aid_due"]["between"] == ["13200.00", "17050.00"]
    assumed = post(client, "/evaluate", {**body, "assume": [MEAN]})
    assert assumed["results"]["aid_due"] == "17050.00"
    assert assumed["reliance"]["aid_due"][0] == {
        "name": "combined_rate", "grade": "hypothesis", "ruleset": "convention_2024", "source": "hypothèse « Chiffrage »"}
    assert assumed["fingerprint"] != open_["fingerprint"]
    assert assumed["assumptions"]["hypotheses"][0]["title"] == "Chiffrage"


def test_the_contract_lists_the_readings_a_physician_may_retain(client):
    # the page's « Lectures des textes »: the rules with readings that decide a figure, and the
    # reading a hypothesis retained (then no figure names it in decided_by any more)
    body = {"case": {"physician": GP, "contract": CONTRACT}, "on": "2025-09-01", "partial": True}
    combined = {"name": "combined_rate",
                "label": "Taux d'atteinte des deux objectifs (médecin traitant et file active)",
                "readings": [{"name": "lowest", "label": "Le plus faible des deux taux"},
                             {"name": "product", "label": "Le produit des deux taux"},
                             {"name": "mean", "label": "La moyenne des deux taux"}]}
    assert post(client, "/contract", body)["readings"] == [{**combined, "chosen": None}]
    assumed = post(client, "/contract", {**body, "assume": [MEAN]})
    assert assumed["readings"] == [{**combined, "chosen": "mean"}]
    assert assumed["current"]["aid_due"]["value"] == "17050.00"
    # no patients observed yet: no rate to combine, nothing to choose — even with a reading retained
    unobserved = {**body, "case": {"physician": GP, "contract": {k: v for k, v in CONTRACT.items() if k != "observed"}}}
    assert post(client, "/contract", unobserved)["readings"] == []
    assert post(client, "/contract", {**unobserved, "assume": [MEAN]})["readings"] == []


@pytest.mark.parametrize("text, problem", [
    # `assume gp_threshold[70] = ` is 26 characters: the value starts at column 27. In P70's bounds in
    # 2023 and 2024 (P50 = 1 045, P90 = 1 503); the first file fixes P70 too: each is named by its place.
    ('hypotheses "H"\nassume gp_threshold[70] = 9 999 because "x"\n',
     "assume[1]: ligne 2, colonne 27 : 9 999 est hors des bornes de « gp_threshold[70] » : sa valeur est "
     "comprise entre 1045 et 1503"),
    ('hypotheses "H"\nassume combined_rate reading moyenne because "x"\n',
     "assume[1]: ligne 2, colonne 8 : « combined_rate » n'a pas de lecture « moyenne »"),
    ('hypotheses "H"\nassume advance_share = 40 % because "x"\n',
     "assume[1]: ligne 2, colonne 8 : « advance_share » est établi dans le texte reglement_arbitral_2023 (sa valeur est "
     "donnée par le texte) : une hypothèse ne fixe que ce que les textes laissent ouvert"),
    ('hypotheses "H"\nassume = 3\n', "assume[1]: ligne 2, colonne 8 : élément inattendu : `=`"),
])
def test_a_wrong_hypothesis_is_a_422_naming_its_line_and_column_in_french(client, text, problem):
    first = MEAN if "combined_rate" not in text else P70  # a right one, before the wrong one
    out = post(client, "/evaluate", {"case": {"physician": GP}, "on": "2024-07-01", "assume": [first, text]},
               status=422)
    assert out["error"] == "hypothèse invalide"
    assert out["problems"] == [problem]


@pytest.mark.parametrize("body, problem", [
    ({"official_only": "oui"}, "official_only: true ou false est attendu, pas un texte"),
    ({"assume": "x"}, "assume: une liste de textes est attendue (le contenu de fichiers d'hypothèses)"),
    ({"explain": None}, "explain: true ou false est attendu, pas null"),
])
def test_assumption_fields_are_checked(client, body, problem):
    out = post(client, "/evaluate", {"case": {"physician": GP}, "on": "2024-07-01", **body}, status=422)
    assert out["problems"] == [problem]


# ---------------------------------------------------------------- partial cases

def test_partial_accepts_required_fields_the_rules_do_not_read(client):
    without_optam = {k: v for k, v in GP.items() if k != "optam"}
    strict = post(client, "/options", {"physician": without_optam, "on": "2024-07-01"}, status=422)
    assert strict["problems"] == ["physician.optam: champ obligatoire manquant (Adhésion à l'OPTAM ou à l'OPTAM-CO)"]
    partial = post(client, "/options", {"physician": without_optam, "on": "2024-07-01", "partial": True,
                                        "explain": False})
    complete = post(client, "/options", {"physician": GP, "on": "2024-07-01", "explain": False})
    assert partial == complete  # sector 1: OPTAM was never read, so any answer gives the same figures
    read = post(client, "/options", {"physician": {**without_optam, "sector": 2}, "on": "2024-07-01",
                                     "partial": True}, status=422)
    assert read == {"error": "cas incomplet",
                    "problems": ["physician.optam: champ obligatoire manquant (Adhésion à l'OPTAM ou à l'OPTAM-CO)"]}


# ---------------------------------------------------------------- « J'ai un contrat »

def test_a_2023_contract_year_by_year(client):
    out = post(client, "/contract", {"case": {"physician": GP, "contract": CONTRACT}, "on": "2025-09-01"})
    # Signed 15/06/2023: year 3 opened on 15/06/2025.
    assert (out["contract_year"], out["status"], out["contract_start"], out["contract_end"]) == (
        3, "running", "2023-06-15", "2028-06-14")
    assert out["governing_ruleset"]["id"] == "reglement_arbitral_2023"
    # Each year's amounts are the ruleset's in force on its anniversary: 2023 and 2024-06-15 under the
    # règlement arbitral (36 000, 27 000), from 2025-06-15 the 2024 convention (22 000, not 21 000).
    assert [(y["year"], y["starts_on"], y["ruleset"]["id"], y["amount"]["value"]) for y in out["years"]] == [
        (1, "2023-06-15", "reglement_arbitral_2023", "36000.00"),
        (2, "2024-06-15", "reglement_arbitral_2023", "27000.00"),
        (3, "2025-06-15", "convention_2024", "22000.00"),
        (4, "2026-06-15", "convention_2024", "22000.00"),
        (5, "2027-06-15", "convention_2024", "22000.00")]
    # 36 000 + 27 000 + 3 × 22 000 = 129 000.
    assert out["total"]["value"] == "129000.00"
    # Aid due in year 3: 22 000 × the combined rate, 0.6 … 0.775 (three readings) → 13 200 … 17 050.
    assert out["current"]["aid_due"]["display"] == "entre 13\u202f200,00 € et 17\u202f050,00 €"
    assert out["current"]["aid_due"]["depends"] == ("dépend de : Taux d'atteinte des deux objectifs (médecin "
                                                    "traitant et file active)")
    # The rate itself, shown as a percentage: 60 % (product) … 77,5 % (mean).
    assert out["current"]["achievement_rate"]["display"] == "entre 60 % et 77,5 %"
    assert out["targets"]["target_patients_mt"]["value"] == 1180
    # The calendar: year 1 in the month after signature, year 2 on its anniversary, then an advance of
    # 50 % two months after each anniversary and the balance two months after the next one.
    calendar = [(p["year"], p["date"], p["kind"], p["kind_label"], p["amount"]["value"], p["status"])
                for p in out["payments"]]
    balance3 = {"between": ["2200.00", "6050.00"]}  # 13 200 − 11 000 … 17 050 − 11 000
    assert [c[:4] + (c[5],) for c in calendar] == [
        (1, "2023-07-15", "single", "versement unique", "paid"),
        (2, "2024-06-15", "single", "versement unique", "paid"),
        (3, "2025-08-15", "advance", "acompte", "paid"),
        (3, "2026-08-15", "balance", "solde", "to_come"),
        (4, "2026-08-15", "advance", "acompte", "to_come"),
        (4, "2027-08-15", "balance", "solde", "to_come"),
        (5, "2027-08-15", "advance", "acompte", "to_come"),
        (5, "2028-08-15", "balance", "solde", "to_come")]
    assert [c[4] for c in calendar][:3] == ["36000.00", "27000.00", "11000.00"]
    assert calendar[3][4]["between"] == balance3["between"]
    assert [p["amount"].get("pending", False) for p in out["payments"]] == [False] * 5 + [True, False, True]
    # Paid by 01/09/2025: 36 000 + 27 000 + 11 000 = 74 000. To come: 2 200 … 6 050 + 11 000 + 11 000 =
    # 24 200 … 28 050, and two balances still to be determined (no patients observed for years 4 and 5).
    assert (out["paid"]["value"], out["paid"]["pending"]) == ("74000.00", 0)
    assert out["to_come"]["value"]["between"] == ["24200.00", "28050.00"] and out["to_come"]["pending"] == 2
    assert out["next_anniversary"]["date"] == "2026-06-15" and out["next_anniversary"]["year"] == 4


def test_the_next_anniversary_brings_the_2024_revaluation(client):
    contract = {k: v for k, v in CONTRACT.items() if k != "observed"}
    out = post(client, "/contract", {"case": {"physician": GP, "contract": contract}, "on": "2024-09-01"})
    nxt = out["next_anniversary"]
    # Year 2 (27 000, règlement arbitral); year 3 opens on 15/06/2025 under the 2024 convention: 22 000
    # (the règlement arbitral's year 3 was 21 000).
    assert out["contract_year"] == 2 and nxt["year"] == 3 and nxt["amount"]["value"] == "22000.00"
    assert nxt["changes"][0] == ("L'année 3 s'ouvre le 15/06/2025 : aide maximale 22\u202f000,00 €, contre "
                                 "27\u202f000,00 € pour l'année 2.")
    assert nxt["changes"][1].startswith("Revalorisation : les montants de l'année 3 sont ceux de « Convention "
                                        "médicale du 4 juin 2024 — assistants médicaux »")
    assert nxt["changes"][2] == ("Versements de cette année : acompte de 11\u202f000,00 € le 15/08/2025 ; solde le "
                                 "15/08/2026 (montant à déterminer).")


def test_a_switched_2019_contract_counts_its_years_from_the_switch(client):
    physician = {**GP, "priority_zone": True, "group_practice": True, "coordinated_practice": True}
    contract = {**CONTRACT, "signed_on": "2020-03-01", "switched_on": "2023-09-01"}
    out = post(client, "/contract", {"case": {"physician": physician, "contract": contract}, "on": "2024-09-01"})
    # The switch opens a new contract under the règlement arbitral: year 1 from 01/09/2023 (36 000),
    # year 2 from 01/09/2024 under the 2024 convention (28 000).
    assert (out["contract_start"], out["contract_year"]) == ("2023-09-01", 2)
    assert [(y["ruleset"]["id"], y["amount"]["value"]) for y in out["years"][:2]] == [
        ("reglement_arbitral_2023", "36000.00"), ("convention_2024", "28000.00")]


def test_contract_refusals_are_clear(client):
    out = post(client, "/contract", {"case": {"physician": GP}, "on": "2025-09-01"}, status=422)
    assert out["problems"][0].startswith("case.contract: un contrat est attendu")
    out = post(client, "/contract", {"case": {"physician": GP, "contract": {**CONTRACT, "signed_on": "2018-01-01"}},
                                     "on": "2025-09-01"}, status=422)
    assert "renvoie au 01/01/2018, date à laquelle aucun texte n'est en vigueur" in out["error"]


# ---------------------------------------------------------------- the engine's sentences, reworded for the page

@pytest.mark.parametrize("engine_says, page_says", [
    ("« contract.observed » n'a pas de valeur ici", "« contract.observed » n'a pas de valeur pour ce cas"),
    ("le barème « t » ne donne pas de valeur pour k = 2, o = half (la case indique « — »)",
     "le barème « t » ne donne pas de valeur pour k 2, o half (case « — »)"),
    ("le barème « t » n'a pas de colonne pour option = x", "le barème « t » n'a pas de colonne pour option x"),
    ("« r » ne peut pas être calculé exactement (InvalidOperation) : un chiffre du cas ou du texte est hors limites",
     "« r » ne peut pas être calculé exactement : un chiffre du cas est hors limites"),
    ("deux exceptions de la règle « a » s'appliquent à la fois : « E1 » (f.mil:4:3) et « E2 » (f.mil:5:3)",
     "deux exceptions de la règle « a » s'appliquent à la fois : « E1 » et « E2 »"),
    ("division par zéro dans « a / b »", "division par zéro dans « a / b »"),
    ("« r » n'a aucune valeur admissible pour ce cas", "le calcul s'est arrêté sur une règle du texte"),
])
def test_evaluation_errors_are_reworded_for_the_page(engine_says, page_says):
    from engine.api_text import evaluation_error
    from engine.values import EvaluationError
    assert evaluation_error(EvaluationError(engine_says)) == page_says
