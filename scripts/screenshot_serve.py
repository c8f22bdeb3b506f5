"""Screenshot the server's page after one synthesis, for the README (docs/serve.md).

    python scripts/screenshot_serve.py [--model DIR] [--out docs/images/serve_page.png]

Starts `python -m vall_e.serve` on a free loopback port, opens / in Debian's headless
Chromium, types a sentence, picks a voice, presses play, waits for the audio, and saves a PNG.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vall_e.serve.browser import chromium_driver, missing_browser  # noqa: E402
from vall_e.serve.launch import ServerProcess  # noqa: E402

TEXT = "Hello! This page talks to the local speech server. It streams audio as it is made."


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="checkpoint directory (default: the embedded default)")
    p.add_argument("--voice", default="kumo")
    p.add_argument("--out", default="docs/images/serve_page.png")
    args = p.parse_args()
    if (why := missing_browser()) is not None:
        print(f"error: {why}", file=sys.stderr)
        return 2
    from selenium.webdriver.support.ui import Select, WebDriverWait

    server_args = (["--model", args.model] if args.model else []) + ["--log-level", "warning"]
    with ServerProcess(server_args, startup_timeout=600) as server, chromium_driver() as driver:
        driver.get(server.url + "/")
        WebDriverWait(driver, 60).until(lambda d: Select(d.find_element("id", "voice")).options)
        text = driver.find_element("id", "text")
        text.clear()
        text.send_keys(TEXT)
        Select(driver.find_element("id", "voice")).select_by_value(args.voice)
        driver.find_element("id", "seed").send_keys("1")
        driver.find_element("id", "play").click()
        WebDriverWait(driver, 600).until(lambda d: d.find_element("id", "status")
                                         .get_attribute("data-state") in ("done", "error"))
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))
        print(f"{out}: {driver.find_element('id', 'status').text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
