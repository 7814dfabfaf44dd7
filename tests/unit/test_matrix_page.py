"""matrix.html, opened in a real headless Chromium: what a person sees and can click.

Needs Debian's chromium and chromium-driver (`.ci/run` installs them). Without them the test
skips with the install command, except in CI (CI=true), where it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from unit.test_matrix import sample_backends, sample_run

from prism_accept.reports import matrix, write_all

INSTALL = "apt-get update && apt-get install -y chromium chromium-driver"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
]


def _find(*names: str) -> str | None:
    """On PATH or in /usr/bin (Debian); GitHub's runner image names its chromedriver directory
    in $CHROMEWEBDRIVER."""
    for name in names:
        if name == "chromedriver" and os.environ.get("CHROMEWEBDRIVER"):
            candidate = os.path.join(os.environ["CHROMEWEBDRIVER"], name)
            if os.access(candidate, os.X_OK):
                return candidate
        found = shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)
        if found:
            return found
    return None


@pytest.fixture
def browser(tmp_path):
    chromium, driver = _find("chromium", "chromium-browser", "google-chrome"), _find("chromedriver")
    if not (chromium and driver):
        message = f"matrix.html needs chromium and chromedriver (found {chromium}, {driver}); install them: {INSTALL}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    env = {**os.environ, "HOME": str(tmp_path)}
    service = Service(executable_path=driver, env=env, log_output=subprocess.DEVNULL)
    drv = webdriver.Chrome(service=service, options=options)
    drv.set_page_load_timeout(30)
    yield drv
    drv.quit()


def test_page_shows_the_grid_and_opens_a_cell(tmp_path, browser):
    from selenium.webdriver.common.by import By

    reports, m = sample_run(tmp_path)
    write_all(m, reports, tmp_path / "out")
    page = tmp_path / "out" / "matrix.html"
    assert "http://" not in page.read_text() and "https://" not in page.read_text()  # self-contained
    browser.get(page.as_uri())

    assert browser.title == "Interface Compliance Matrix"
    totals = browser.find_element(By.CSS_SELECTOR, "p.totals").text
    assert totals == "17/20 interfaces PASS, 1 PASS*, 1 FAIL, 1 SKIP across 2 backends"
    assert "abc123" in browser.find_element(By.CSS_SELECTOR, "code.commit").text
    headers = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "table.grid thead th")]
    assert headers == ["", "memstore", "redis"]
    groups = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "tr.group th")]
    assert groups == ["keyvalue", "list", "checks"]

    def cell(backend: str, name: str):
        return browser.find_element(By.CSS_SELECTOR, f'button[data-detail="detail-{backend}-{name}"]')

    assert cell("redis", "keyvalue_scan").text == "PASS* (1 known)"
    assert cell("redis", "keyvalue_ttl").text == "SKIP"
    assert cell("redis", "model-keyvalue").text == "PASS"
    colours = {
        cell("redis", n).value_of_css_property("background-color")
        for n in ("keyvalue_basic", "keyvalue_scan", "list_basic", "keyvalue_ttl")
    }
    assert len(colours) == 4  # pass, known deviation, fail and skip look different

    detail = browser.find_element(By.ID, "detail-redis-list_basic")
    assert not detail.is_displayed()
    cell("redis", "list_basic").click()
    assert detail.is_displayed()
    failed = detail.find_element(By.CSS_SELECTOR, "tr.c-fail")
    assert failed.find_element(By.CSS_SELECTOR, ".operation").text == "operation Get k"
    assert failed.find_element(By.CSS_SELECTOR, ".got").text == "got b'1'"
    assert failed.find_element(By.CSS_SELECTOR, ".want").text == "want b'2'"

    cell("redis", "keyvalue_scan").click()  # opening another cell closes the first
    assert not detail.is_displayed()
    scan = browser.find_element(By.ID, "detail-redis-keyvalue_scan")
    assert "known deviation" in scan.text and "SCAN returns keys unordered" in scan.text
    assert "s3cret" not in browser.page_source
    shot = tmp_path / "matrix.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 0
    assert matrix.load_matrix(reports, sample_backends(tmp_path), commit="abc123").cells["redis"]["list_basic"].status == "fail"
