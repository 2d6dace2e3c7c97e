"""The report page of `millesime compare`, rendered by headless Chromium: the charts draw the
summary's figures (the hand-worked population of tests/test_compare.py), offline.

Needs Debian's `chromium` and `chromium-driver` (`make browser`) and the `e2e` extra (selenium);
skipped with the reason when any is missing. Asserts the data the charts hold, not pixels.
"""
import pytest

from browser import chromium_driver, require_chromium  # tests/browser.py

require_chromium()
pytest.importorskip("pyarrow")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from engine import report_html  # noqa: E402
from engine.compare import Period, compare_rows, summarize  # noqa: E402
from engine.registry import Registry  # noqa: E402
from test_compare import REFORM, table  # noqa: E402



@pytest.fixture(scope="module")
def browser():
    driver = chromium_driver(1280, 2000, page_load_timeout=30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    (folder / "reforme.mil").write_text(REFORM, encoding="utf-8")
    baseline, reform = Registry.load(), Registry.load(reform=folder / "reforme.mil")
    period = Period.years(2026, 2028)
    summary = summarize(compare_rows(table(), baseline, reform, period, weight="weight", by=["region"]), period,
                        by=["region"])
    summary["reform"] = {"reforms": ["reforme_2027"], "timeline": [
        {"id": "reforme_2027", "title": "Réforme étudiée", "from": "2027-01-01", "until": None}]}
    path = folder / "report.html"
    path.write_text(report_html.render(summary), encoding="utf-8")
    return path


def option(browser, element_id: str) -> dict:
    return browser.execute_script(
        "var o = echarts.getInstanceByDom(document.getElementById(arguments[0])).getOption();"
        "return {x: o.xAxis[0].data, series: o.series.map(function (s) { return {name: s.name, data: s.data}; })};",
        element_id)


def test_the_charts_draw_the_summary(browser, page):
    browser.get(page.as_uri())
    WebDriverWait(browser, 20).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-charts") == "ready")
    years = option(browser, "chart-years")
    # the hand-worked totals of tests/test_compare.py
    assert years["x"] == ["2026", "2027", "2028"]
    assert years["series"] == [{"name": "Référence", "data": [38500, 38500, 27500]},
                               {"name": "Réforme", "data": [38500, 40000, 29000]}]
    distribution = option(browser, "chart-distribution")
    assert distribution["x"] == ["-1\u202f000 € à -800 €", "aucun écart", "2\u202f000 € à 2\u202f200 €"]
    assert distribution["series"][0]["data"] == [1, 1, 2]
    groups = option(browser, "chart-groups")
    # nord: A +2 000 and C −1 000; sud: B +2 000 (D unchanged, E in error)
    assert groups["x"] == ["nord", "sud"]
    assert groups["series"][0]["data"] == [1000, 2000]
    svg = browser.find_elements(By.CSS_SELECTOR, "#chart-years svg")
    assert svg, "the chart was not drawn"
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "40\u202f000,00 €" in text and "Réforme étudiée" in text
    assert browser.execute_script("return document.querySelectorAll('script[src], link[href]').length") == 0
