"""Open the built report in a real headless Chromium: images load, no console errors."""

from __future__ import annotations

import shutil

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium") and not shutil.os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed (apt-get install chromium chromium-driver)")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.mark.parametrize("page_name", ["index", "00_data", "02_convnet"])
def test_page_loads_every_image_without_console_errors(browser, smoke_site, page_name, tmp_path):
    site, result = smoke_site
    assert result.returncode == 0, result.stderr
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors = []
    page.on("console",
            lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto((site / f"{page_name}.html").as_uri())
    page.wait_for_load_state("load")
    widths = page.evaluate("Array.from(document.images).map(image => image.naturalWidth)")
    if page_name != "index":
        assert widths and all(width > 0 for width in widths), widths
        assert page.locator("a[href='index.html']").count() == 1
    else:
        links = page.evaluate("Array.from(document.links).map(a => a.getAttribute('href'))")
        assert "00_data.html" in links and "02_convnet.html" in links
    shot = tmp_path / f"{page_name}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert errors == []
    page.close()
