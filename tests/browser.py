"""Headless Chromium for the tests of pages (the simulator, the report of `millesime compare`):
where Debian's chromium and chromium-driver are (`make browser` installs them), a module skipped
with the reason when they or selenium are missing, and a driver."""
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def require_chromium() -> None:
    """At the top of a test module: skip it, saying why, without chromium, its driver or selenium."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (`make browser` installs it)", allow_module_level=True)
    if not Path(CHROMEDRIVER).exists():
        pytest.skip("chromedriver is not installed (`make browser` installs Debian's chromium-driver)",
                    allow_module_level=True)
    pytest.importorskip("selenium", reason="the `e2e` extra (selenium) is not installed")


def chromium_driver(width: int, height: int, page_load_timeout: int):
    """A headless Chromium driver of that window size (the test is skipped if it cannot start)."""
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--window-size={width},{height}"]:
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except WebDriverException as exc:
        pytest.skip(f"headless chromium could not start: {exc.msg}")
    driver.set_page_load_timeout(page_load_timeout)
    return driver
