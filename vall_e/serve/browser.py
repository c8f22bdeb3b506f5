"""Debian's headless Chromium driven by selenium, for the page's test and its screenshot.

The flags are the ones this machine needs: no sandbox as root, no GPU, and no background
networking (the machine has no network beyond loopback; Chromium's own calls home would be
refused many at a time). A fresh profile directory each time keeps runs independent.
"""
from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager

CHROMIUM, CHROMEDRIVER = "chromium", "chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--autoplay-policy=no-user-gesture-required", "--window-size=1000,900")


def missing_browser() -> str | None:
    """Why the browser cannot run here (None when it can)."""
    for program in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(program) is None:
            return f"{program} is not installed (apt-get install -y chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


@contextmanager
def chromium_driver():
    """A selenium WebDriver over headless Chromium, quit (and its profile removed) on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory(prefix="vall_e_chromium_") as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(shutil.which(CHROMEDRIVER)), options=options)
        try:
            yield driver
        finally:
            driver.quit()
