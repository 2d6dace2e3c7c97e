"""The simulator page, end to end: headless Chromium answers the questions the rules ask, both
journeys (« Je compte signer », « J'ai un contrat »), at desktop and mobile widths and with the
keyboard only; the figures it shows are compared with the engine's own evaluation of the same case
and with values worked out by hand.

Waiting is on conditions the page announces, never on time: `body[data-questions]` counts the
rounds of POST /questions and `body[data-pret]` says the form matches the last answer;
`#resultats[data-etat]` is `calcul` from the moment « Calculer » is pressed until the results (`pret`)
or the errors (`erreur`) are shown; a « pourquoi ? » has `data-etat="pret"` once its tree is loaded.

Why `test_the_date_picker_shows_another_texts_rules` failed about one run in eight: it waited for
the ruleset's title in `#texte`, which the old page wrote *before* fetching that ruleset's inputs
and rebuilding the form (copying the values typed so far). When the fetch was slower than the
test, the test typed into fields about to be replaced, or looked for the avenant 7 checkboxes
before they existed. The page now writes the title and rebuilds the form in the same step, after
the answer, and says so (`data-questions`, `data-pret`); the test waits for that.

Screenshots of both journeys (desktop and mobile) are written to tests/artifacts/web/ (kept out of
git; MILLESIME_ARTIFACTS chooses another folder); their paths are printed (pytest -s shows them).

Needs Debian's `chromium` and `chromium-driver` (`make browser` installs them) and the `serve`
and `e2e` extras (uvicorn, selenium); skipped with the reason when any is missing.
"""
import base64
import datetime as dt
import os
import re
import socket
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from browser import chromium_driver, require_chromium  # noqa: E402 — tests/browser.py

require_chromium()
pytest.importorskip("uvicorn", reason="the `serve` extra (uvicorn) is not installed")

import uvicorn  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from engine import evaluate, shipped_registry  # noqa: E402
from engine.server import create_app  # noqa: E402

DESKTOP, MOBILE = (1280, 1400), (375, 812)
ARTIFACTS = Path(os.environ.get("MILLESIME_ARTIFACTS") or Path(__file__).parent / "artifacts" / "web")
NBSP = "\u202f"

GP_2024 = {"specialty": "medecine_generale", "sector": "1", "patients_mt": "900", "file_active": "1500"}
CONTRACT_2023 = [("contract.signed_on", "2023-06-15"), ("contract.option", "full"),
                 ("contract.initial_patients_mt", "980"), ("contract.initial_file_active", "1500"),
                 ("physician.specialty", "medecine_generale"), ("physician.sector", "1"),
                 ("contract.target_patients_mt", "1180"), ("contract.target_file_active", "1750"),
                 ("contract.observed.3.patients_mt", "1130"), ("contract.observed.3.file_active", "1700")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def base_url():
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(shipped_registry()), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:  # the server's own start-up: a condition, polled
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def chromium():
    driver = chromium_driver(*DESKTOP, page_load_timeout=20)
    yield driver
    driver.quit()


@pytest.fixture
def browser(chromium):
    chromium.set_window_size(*DESKTOP)
    chromium.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    return chromium


# ---------------------------------------------------------------- waiting on the page's own signals

def wait(driver, condition, timeout=15):
    return WebDriverWait(driver, timeout).until(condition)


def state(driver, expression):
    return driver.execute_script(f"return {expression}")


def open_page(driver, base_url, on, journey="signer"):
    driver.get(f"{base_url}/?on={on}&parcours={journey}")
    wait(driver, lambda d: state(d, "document.body.dataset.pret") == "oui" and
         state(d, "document.body.dataset.questions") is not None)


def field_id(path: str) -> str:
    return "f-" + path.replace(".", "-")


def questions_round(driver):
    return state(driver, "document.body.dataset.questions")


def after_change(driver, before):
    """The round of questions the last change started has been answered and the form rebuilt."""
    wait(driver, lambda d: questions_round(d) != before and state(d, "document.body.dataset.pret") == "oui")


def answer(driver, path, value):
    """Give a field its value as a user would (choose in a list, type then leave the field) and wait
    for the rules' next questions."""
    element = wait(driver, lambda d: (d.find_elements(By.ID, field_id(path)) or [None])[0])
    before = questions_round(driver)
    if element.tag_name == "select":
        if element.get_attribute("value") == value:
            return
        Select(element).select_by_value(value)
    elif element.get_attribute("type") == "date":
        driver.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change'))",
                              element, value)
    else:
        element.clear()
        element.send_keys(value, Keys.TAB)
    after_change(driver, before)


def shown_fields(driver, group="physician"):
    return [e.get_attribute("data-field") for e in driver.find_elements(By.CSS_SELECTOR, f"[data-field^='{group}.']")]


def compute(driver, with_keyboard=False):
    if with_keyboard:
        driver.switch_to.active_element.send_keys(Keys.ENTER)
    else:
        driver.find_element(By.ID, "calculer").click()
    wait(driver, lambda d: d.find_element(By.ID, "resultats").get_attribute("data-etat") in ("pret", "erreur"))


def open_why(driver, details, with_keyboard=False):
    summary = details.find_element(By.TAG_NAME, "summary")
    if with_keyboard:
        summary.send_keys(Keys.ENTER)
    else:
        summary.click()
    wait(driver, lambda d: details.get_attribute("data-etat") == "pret")
    return details.text.replace(NBSP, " ")


def text(element) -> str:
    return element.text.replace(NBSP, " ")


def euros(value: str) -> Decimal:
    """'19 000,00 €' → Decimal('19000.00')."""
    return Decimal(re.sub(r"[^\d,]", "", value).replace(",", "."))


def shot(driver, name: str) -> Path:
    """The whole page as PNG under ARTIFACTS, beyond the window's height."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    data = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    path = ARTIFACTS / f"{name}.png"
    path.write_bytes(base64.b64decode(data["data"]))
    print(f"screenshot: {path}")
    return path


def no_horizontal_scroll(driver) -> bool:
    return state(driver, "document.documentElement.scrollWidth <= document.documentElement.clientWidth")


# ---------------------------------------------------------------- « Je compte signer »

def fill_gp(driver, values):
    for name in ("specialty", "sector", "patients_mt", "file_active"):
        answer(driver, f"physician.{name}", values[name])


def shown_amounts(driver) -> dict[str, list[Decimal]]:
    shown: dict[str, list[Decimal]] = {}
    for cell in driver.find_elements(By.CSS_SELECTOR, "#tableau-options td[data-annee]"):
        shown.setdefault(cell.get_attribute("data-option"), []).append(
            euros(cell.find_element(By.CSS_SELECTOR, ".montant").text))
    return shown


def engine_amounts(physician: dict, on: dt.date) -> dict[str, list[Decimal]]:
    result = evaluate({"physician": physician}, on, outputs=["options"])
    return {o["option"]: [Decimal(a) for a in o["amounts"]] for o in result.values["options"]}


def test_plan_journey_asks_only_what_the_rules_read_and_shows_the_engines_figures(browser, base_url):
    open_page(browser, base_url, "2024-07-01")
    assert "Convention médicale du 4 juin 2024" in text(browser.find_element(By.ID, "texte"))
    fill_gp(browser, GP_2024)
    # Sector 1 decides « secteur 1, ou secteur 2 avec l'OPTAM » without OPTAM; a GP's CCAM share is never
    # read; 900 patients lie in the band P30–P50 (775 < 900 ≤ 1 045): no percentile asked.
    assert shown_fields(browser) == ["physician.sector", "physician.specialty", "physician.patients_mt",
                                     "physician.file_active"]
    assert text(browser.find_element(By.ID, "reste")) == "Toutes les données obligatoires sont renseignées."
    compute(browser)
    assert browser.find_element(By.ID, "verdict").text == "Éligible à l'aide."
    physician = {"specialty": "medecine_generale", "sector": 1, "optam": False, "patients_mt": 900,
                 "file_active": 1500}
    expected = engine_amounts(physician, dt.date(2024, 7, 1))
    assert shown_amounts(browser) == expected
    # …which are the 2024 table's, by hand: 1/2 ETP 19 000 then 14 000 then 11 000; 1 ETP twice that.
    assert expected["half"] == [Decimal(x) for x in (19000, 14000, 11000, 11000, 11000)]
    # Five-year totals: 19 000 + 14 000 + 3 × 11 000 = 66 000; 38 000 + 28 000 + 3 × 22 000 = 132 000.
    totals = {c.get_attribute("data-option"): text(c) for c in
              browser.find_elements(By.CSS_SELECTOR, 'td[data-figure="total"]')}
    assert totals["half"].startswith("66 000,00 €") and totals["full"].startswith("132 000,00 €")
    # The band rests on P50 = 1 045, a secondary figure: badged.
    year2 = browser.find_element(By.CSS_SELECTOR, 'td[data-option="half"][data-annee="2"]')
    assert year2.find_element(By.CSS_SELECTOR, ".badge").text == "source secondaire"
    # Targets: the 2024 table was not read — what is known (at least 0) and what decides it, never a blank.
    target = text(browser.find_element(By.CSS_SELECTOR, 'td[data-option="half"][data-figure="additional_patients_mt"]'))
    assert target.startswith("au moins 0") and "dépend de" in target and "percentile 30..50" in target
    for option in ("half", "full"):
        assert len(browser.find_elements(By.CSS_SELECTOR, f'figure[data-option="{option}"] svg rect.barre')) == 5
    shot(browser, "signer-bureau")


def test_a_surgeon_is_asked_the_ccam_share_and_a_gp_is_not(browser, base_url):
    open_page(browser, base_url, "2024-07-01")
    answer(browser, "physician.specialty", "chirurgie_generale")
    assert "physician.ccam_fee_share" in shown_fields(browser)
    answer(browser, "physician.specialty", "medecine_generale")
    assert "physician.ccam_fee_share" not in shown_fields(browser)


def test_the_percentile_is_asked_when_a_figure_depends_on_thresholds(browser, base_url):
    open_page(browser, base_url, "2024-07-01")
    fill_gp(browser, {**GP_2024, "patients_mt": "1300"})
    # 1 300 > P50 (1 045), P70 unknown (between 1 045 and P90 = 1 503): the targets depend on it.
    assert "physician.percentile" in shown_fields(browser)
    label = browser.find_element(By.ID, "f-physician-percentile-aide").text
    assert label == "facultatif · de 0 à 100 · peut préciser un chiffre non établi"


def test_pourquoi_loads_its_tree_only_when_opened(browser, base_url):
    open_page(browser, base_url, "2024-07-01")
    fill_gp(browser, GP_2024)
    compute(browser)
    cell = browser.find_element(By.CSS_SELECTOR, 'td[data-option="full"][data-annee="1"]')
    details = cell.find_element(By.TAG_NAME, "details")
    assert not details.find_elements(By.CSS_SELECTOR, ".arbre")  # the answer came without trees
    tree = open_why(browser, details, with_keyboard=True)
    assert "Montant maximal de l'aide" in tree and "38 000,00 €" in tree
    assert "Source : ameli.fr" in tree


def test_the_date_picker_shows_another_texts_rules(browser, base_url):
    open_page(browser, base_url, "2024-07-01")
    before = questions_round(browser)
    # Back to 2020: avenant 7, whose rules ask for group and coordinated practice and a priority zone.
    browser.execute_script("const i = document.getElementById('on'); i.value = '2020-03-01';"
                           "i.dispatchEvent(new Event('change'));")
    after_change(browser, before)
    assert browser.find_element(By.ID, "texte").get_attribute("data-ruleset") == "avenant7_2019"
    fill_gp(browser, {**GP_2024, "patients_mt": "1000"})
    for name in ("group_practice", "coordinated_practice", "priority_zone"):
        answer(browser, f"physician.{name}", "oui")
    answer(browser, "physician.percentile", "40")
    compute(browser)
    physician = {"specialty": "medecine_generale", "sector": 1, "optam": False, "patients_mt": 1000,
                 "file_active": 1500, "percentile": Decimal(40), "priority_zone": True,
                 "coordinated_practice": True, "group_practice": True}
    assert shown_amounts(browser) == engine_amounts(physician, dt.date(2020, 3, 1))
    # Targets from avenant 7's table (P30–P50): 1/3 ETP +20 % of 1 000 médecin-traitant patients = 200.
    target = browser.find_element(By.CSS_SELECTOR, 'td[data-option="third"][data-figure="additional_patients_mt"]')
    assert target.find_element(By.CSS_SELECTOR, ".valeur").text == "200"


def test_official_sources_only_turns_secondary_figures_into_ranges(browser, base_url):
    open_page(browser, base_url, "2024-07-01")
    fill_gp(browser, GP_2024)
    before = questions_round(browser)
    browser.find_element(By.ID, "officiel").click()
    after_change(browser, before)
    # P50 = 1 045 rests on a secondary source: set aside, 900 patients may lie anywhere above P30, so
    # the rules now ask for the percentile that would decide it.
    assert "physician.percentile" in shown_fields(browser)
    compute(browser)
    # Year 2 of 1/2 ETP: 14 000, or 19 000 at P95 and above; the total 66 000 … 95 000 (5 × 19 000).
    year2 = text(browser.find_element(By.CSS_SELECTOR, 'td[data-option="half"][data-annee="2"]'))
    assert year2.startswith("entre 14 000,00 € et 19 000,00 €") and "dépend de : Seuils" in year2
    total = text(browser.find_element(By.CSS_SELECTOR, 'td[data-option="half"][data-figure="total"]'))
    assert total.startswith("entre 66 000,00 € et 95 000,00 €")


def test_a_date_no_ruleset_covers_is_said_in_french(browser, base_url):
    open_page(browser, base_url, "2018-09-01")
    texte = browser.find_element(By.ID, "texte")
    assert texte.get_attribute("data-etat") == "erreur"
    assert text(texte) == ("aucun texte n'est en vigueur le 01/09/2018 ; les textes couvrent : avenant7_2019 (du "
                           "21/08/2019 au 30/04/2023), reglement_arbitral_2023 (du 01/05/2023 au 21/06/2024), "
                           "convention_2024 (du 22/06/2024, sans date de fin)")


def test_ineligibility_and_bad_input_are_explained_in_french(browser, base_url):
    open_page(browser, base_url, "2024-07-01")
    for name in ("specialty", "sector"):
        answer(browser, f"physician.{name}", GP_2024[name])
    answer(browser, "physician.patients_mt", "700")
    # Under the P30 (775): not eligible, so no option is computed and the file active is never read.
    assert "physician.file_active" not in shown_fields(browser)
    compute(browser)
    assert browser.find_element(By.ID, "verdict").text == "Non éligible à l'aide."
    reasons = browser.find_elements(By.CSS_SELECTOR, "#motifs li")
    assert [r.get_attribute("data-requirement") for r in reasons] == ["eligibility.patientele"]
    assert not browser.find_elements(By.ID, "tableau-options")

    answer(browser, "physician.patients_mt", "-5")
    errors = wait(browser, lambda d: d.find_element(By.ID, "erreurs") if d.find_element(By.ID, "erreurs")
                  .is_displayed() else None)
    assert "Patientèle médecin traitant — doit être supérieur ou égal à 0 (reçu : -5)" in errors.text
    compute(browser)
    assert browser.find_element(By.ID, "resultats").get_attribute("data-etat") == "erreur"
    assert "Patientèle médecin traitant — doit être supérieur ou égal à 0 (reçu : -5)" in \
        browser.find_element(By.ID, "erreurs").text
    assert browser.find_element(By.ID, "f-physician-patients_mt").get_attribute("aria-invalid") == "true"


# ---------------------------------------------------------------- « J'ai un contrat »

def fill_contract(driver):
    for path, value in CONTRACT_2023:
        answer(driver, path, value)


def check_contract_2023(driver):
    """The figures of the 2023 contract on 01/09/2025, worked out by hand (tests/test_api_journeys.py)."""
    summary = text(driver.find_element(By.ID, "resume-contrat"))
    assert "du 15/06/2023 au 14/06/2028 (en cours)" in summary and "3e année" in summary
    years = {r.get_attribute("data-annee"): r for r in driver.find_elements(By.CSS_SELECTOR, "#annees tbody tr")}
    # 2023 and 2024 anniversaries: règlement arbitral (36 000, 27 000); from 2025: 2024 convention, 22 000.
    amounts = [euros(years[str(y)].find_element(By.CSS_SELECTOR, '[data-figure="amount"] .montant').text)
               for y in range(1, 6)]
    assert amounts == [Decimal(x) for x in (36000, 27000, 22000, 22000, 22000)]
    assert "Convention médicale du 4 juin 2024" in years["3"].text
    # Aid due in year 3: 22 000 × 0.6 … 0.775 (three readings of the combined rate) = 13 200 … 17 050.
    due = text(driver.find_element(By.CSS_SELECTOR, '#annee-en-cours [data-figure="aid_due"] td'))
    assert due.startswith("entre 13 200,00 € et 17 050,00 €")
    assert "dépend de : Taux d'atteinte des deux objectifs (médecin traitant et file active)" in due
    rows = [[text(td) for td in r.find_elements(By.TAG_NAME, "td")]
            for r in driver.find_elements(By.CSS_SELECTOR, "#versements tbody tr")]
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [
        ("15/07/2023", "1", "versement unique", "échu (versé selon les règles)"),
        ("15/06/2024", "2", "versement unique", "échu (versé selon les règles)"),
        ("15/08/2025", "3", "acompte", "échu (versé selon les règles)"),
        ("15/08/2026", "3", "solde", "à venir"),
        ("15/08/2026", "4", "acompte", "à venir"),
        ("15/08/2027", "4", "solde", "à venir"),
        ("15/08/2027", "5", "acompte", "à venir"),
        ("15/08/2028", "5", "solde", "à venir")]
    assert rows[3][3].startswith("entre 2 200,00 € et 6 050,00 €")  # 13 200 − 11 000 … 17 050 − 11 000
    assert rows[5][3] == "à déterminer"
    totals = " ".join(text(driver.find_element(By.ID, "totaux")).split())  # one line, as read
    # 36 000 + 27 000 + 11 000 = 74 000 due by 01/09/2025; to come 2 200 … 6 050 + 2 × 11 000; total
    # 36 000 + 27 000 + 3 × 22 000 = 129 000.
    assert "Déjà versé au 01/09/2025 : 74 000,00 €" in totals
    assert "À venir : entre 24 200,00 € et 28 050,00 €" in totals and "sans 2 soldes à déterminer" in totals
    assert "Total maximal sur cinq ans : 129 000,00 €" in totals
    anniversary = " ".join(text(driver.find_element(By.ID, "prochain-anniversaire")).split())
    assert "À la prochaine date anniversaire (15/06/2026)" in anniversary
    assert "L'année 4 s'ouvre le 15/06/2026 : aide maximale 22 000,00 €" in anniversary


def test_contract_journey_year_by_year(browser, base_url):
    open_page(browser, base_url, "2025-09-01", "contrat")
    # Before the start date is known, the rules cannot tell which text governs: only the contract is asked.
    assert shown_fields(browser) == []
    fill_contract(browser)
    # With the contract's own patients, the physician's current patients are not read; sector 1: no OPTAM.
    assert shown_fields(browser) == ["physician.sector", "physician.specialty"]
    compute(browser)
    check_contract_2023(browser)
    details = browser.find_element(By.CSS_SELECTOR, '#annees tr[data-annee="3"] [data-figure="amount"] details')
    tree = open_why(browser, details)
    assert "Montant annuel maximal de l'aide pour l'année de contrat en cours = 22 000,00 €" in tree
    shot(browser, "contrat-bureau")


def test_a_reading_retained_turns_a_range_into_its_figure(browser, base_url):
    # Year 3 of the 2023 contract: MT 150 of 200 patients (0.75), file active 200 of 250 (0.8). The
    # texts do not say how the two rates combine: three readings, so the aid due is a range until
    # the physician retains one — « the lower rate »: 22 000 × 0.75 = 16 500, balance 16 500 − 11 000.
    open_page(browser, base_url, "2025-09-01", "contrat")
    fill_contract(browser)
    compute(browser)
    due = '#annee-en-cours [data-figure="aid_due"] td'
    assert text(browser.find_element(By.CSS_SELECTOR, due)).startswith("entre 13 200,00 € et 17 050,00 €")
    choice = Select(browser.find_element(By.ID, "lecture-combined_rate"))
    assert [o.text for o in choice.options] == ["Toutes les lectures (fourchette)", "Le plus faible des deux taux",
                                                "Le produit des deux taux", "La moyenne des deux taux"]

    def retain(value):
        done = state(browser, "document.getElementById('resultats').dataset.calcul")
        Select(browser.find_element(By.ID, "lecture-combined_rate")).select_by_value(value)
        wait(browser, lambda d: state(d, "document.getElementById('resultats').dataset.calcul") != done and
             d.find_element(By.ID, "resultats").get_attribute("data-etat") == "pret")

    retain("lowest")
    assert text(browser.find_element(By.CSS_SELECTOR, due)).startswith("16 500,00 €")
    balance = browser.find_elements(By.CSS_SELECTOR, "#versements tbody tr")[3]
    assert text(balance.find_elements(By.TAG_NAME, "td")[3]).startswith("5 500,00 €")
    assert Select(browser.find_element(By.ID, "lecture-combined_rate")).first_selected_option.text == \
        "Le plus faible des deux taux"
    assert browser.switch_to.active_element.get_attribute("id") == "lecture-combined_rate"  # focus kept
    assert "combined_rate (hypothèse)" in browser.find_element(By.ID, "impression").get_attribute("textContent")
    retain("product")  # 0.75 × 0.8 = 0.6: 13 200
    assert text(browser.find_element(By.CSS_SELECTOR, due)).startswith("13 200,00 €")
    retain("")
    assert text(browser.find_element(By.CSS_SELECTOR, due)).startswith("entre 13 200,00 € et 17 050,00 €")


def test_the_printed_summary_gives_the_ruleset_its_fingerprint_and_sources(browser, base_url):
    open_page(browser, base_url, "2025-09-01", "contrat")
    fill_contract(browser)
    compute(browser)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert not browser.find_element(By.ID, "simulateur").is_displayed()
    summary = text(browser.find_element(By.ID, "impression"))
    assert re.search(r"Calcul au 01/09/2025 selon « Convention médicale du 4 juin 2024 — assistants médicaux » "
                     r"\(convention_2024\), empreinte sha256:[0-9a-f]{16}\.", summary)
    assert "Chiffres reposant sur des sources secondaires ou des hypothèses" in summary
    assert "gp_threshold[50] (source secondaire)" in summary
    assert "Date de signature du contrat : 15/06/2023" in summary
    assert browser.find_element(By.ID, "annees").is_displayed()


# ---------------------------------------------------------------- mobile width, keyboard only

def test_both_journeys_at_mobile_width(browser, base_url):
    browser.set_window_size(*MOBILE)
    open_page(browser, base_url, "2024-07-01")
    fill_gp(browser, GP_2024)
    compute(browser)
    assert no_horizontal_scroll(browser)  # wide tables scroll within their own box
    assert browser.find_element(By.ID, "tableau-options").is_displayed()
    shot(browser, "signer-mobile")
    open_page(browser, base_url, "2025-09-01", "contrat")
    fill_contract(browser)
    compute(browser)
    assert no_horizontal_scroll(browser)
    check_contract_2023(browser)
    shot(browser, "contrat-mobile")


def press(driver, *keys):
    ActionChains(driver).send_keys(*keys).perform()


def tab_to(driver, element_id, limit=80):
    """Press Tab (Shift+Tab when it lies behind: a field the rules added above) until `element_id` has
    the focus — keyboard only, no click."""
    target = wait(driver, lambda d: (d.find_elements(By.ID, element_id) or [None])[0])
    for _ in range(limit):
        active = driver.switch_to.active_element
        if active.get_attribute("id") == element_id:
            return active
        behind = state_of(driver, "arguments[0].compareDocumentPosition(arguments[1]) & Node.DOCUMENT_POSITION_PRECEDING",
                          active, target)
        press(driver, (Keys.SHIFT + Keys.TAB) if behind else Keys.TAB)
    raise AssertionError(f"#{element_id} never got the focus from the keyboard")


def state_of(driver, expression, *args):
    return driver.execute_script(f"return {expression}", *args)


def date_keys(driver, iso: str) -> str:
    """What to type in a date field for `iso`, in the order the browser's locale shows its parts."""
    order = state(driver, "new Intl.DateTimeFormat(navigator.language).formatToParts(new Date(2023, 5, 15))"
                          ".filter(p => p.type !== 'literal').map(p => p.type)")
    y, m, d = iso.split("-")
    return "".join({"year": y, "month": m, "day": d}[part] for part in order)


def key_in(driver, path, value):
    """Reach a field with Tab, type or choose its value with the keyboard, leave it with Tab."""
    before = questions_round(driver)
    element = tab_to(driver, field_id(path))
    if element.tag_name == "select":
        label = element.find_element(By.CSS_SELECTOR, f'option[value="{value}"]').text
        press(driver, label)  # typing an option's first letters chooses it
        assert element.get_attribute("value") == value
        press(driver, Keys.TAB)
    elif element.get_attribute("type") == "date":
        press(driver, date_keys(driver, value), Keys.TAB)
    else:
        press(driver, value, Keys.TAB)
    after_change(driver, before)


def test_contract_journey_with_the_keyboard_only(browser, base_url):
    open_page(browser, base_url, "2025-09-01")
    before = questions_round(browser)
    tab_to(browser, "parcours-signer")
    press(browser, Keys.ARROW_RIGHT)  # a radio group: the arrow keys choose
    after_change(browser, before)
    assert browser.find_element(By.ID, "parcours-contrat").is_selected()
    for path, value in CONTRACT_2023:
        key_in(browser, path, value)
    tab_to(browser, "calculer")
    compute(browser, with_keyboard=True)
    assert browser.switch_to.active_element.get_attribute("id") == "resultats"  # the focus follows the results
    check_contract_2023(browser)
    details = browser.find_element(By.CSS_SELECTOR, '#annee-en-cours [data-figure="aid_due"] details')
    summary = details.find_element(By.TAG_NAME, "summary")
    for _ in range(40):  # Tab from the results to this « pourquoi ? »
        if browser.switch_to.active_element == summary:
            break
        press(browser, Keys.TAB)
    assert browser.switch_to.active_element == summary
    press(browser, Keys.ENTER)
    wait(browser, lambda d: details.get_attribute("data-etat") == "pret")
    assert "Aide due pour l'année de contrat en cours, après modulation" in text(details)
