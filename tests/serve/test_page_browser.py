"""The page at / in a real headless Chromium: type, pick a voice, press play, and check that
the audio element holds a decodable WAV of plausible length; clone a voice from a file."""
import pytest

from tests.serve.conftest import SENTENCE_FRAMES
from vall_e.serve.browser import chromium_driver, missing_browser
from vall_e.voices import shipped_voices

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(missing_browser() is not None, reason=str(missing_browser()))]

# fetch the audio element's source inside the page and decode it as the browser would
DECODE_AUDIO = """
const done = arguments[arguments.length - 1];
(async () => {
  const src = document.getElementById("audio").src;
  const bytes = await (await fetch(src)).arrayBuffer();
  const head = String.fromCharCode(...new Uint8Array(bytes.slice(0, 4)));
  const decoded = await new OfflineAudioContext(1, 1, 24000).decodeAudioData(bytes);
  done({head, duration: decoded.duration, download: document.getElementById("download").href === src});
})().catch((e) => done({error: String(e)}));
"""


@pytest.fixture(scope="module")
def browser():
    with chromium_driver() as driver:
        driver.set_script_timeout(60)
        yield driver


def wait_status(browser, state, timeout=120):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, timeout).until(
        lambda d: d.find_element("id", "status").get_attribute("data-state") in (state, "error"))
    status = browser.find_element("id", "status")
    assert status.get_attribute("data-state") == state, status.text
    return status


def open_page(browser, server):
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(server.url + "/")
    WebDriverWait(browser, 30).until(lambda d: len(Select(d.find_element("id", "voice")).options) >= 3)
    return Select(browser.find_element("id", "voice"))


def test_type_pick_play_and_get_a_wav(browser, server):
    voice = open_page(browser, server)
    assert not browser.find_element("id", "key-row").is_displayed()  # no --api-key here
    text = browser.find_element("id", "text")
    text.clear()
    text.send_keys("The browser asks for two sentences. Here is the second.")
    voice.select_by_value("alpha")
    browser.find_element("id", "seed").send_keys("4")
    browser.find_element("id", "play").click()
    status = wait_status(browser, "done")
    assert status.get_attribute("data-mode") == "stream"  # played through Web Audio as it came
    audio = browser.execute_async_script(DECODE_AUDIO)
    assert "error" not in audio, audio
    assert audio["head"] == "RIFF" and audio["download"]
    sentence = SENTENCE_FRAMES / 75
    assert 1.5 * sentence < audio["duration"] < 2.5 * sentence


def test_a_refusal_is_shown(browser, server):
    open_page(browser, server)
    browser.find_element("id", "text").clear()
    browser.find_element("id", "play").click()
    assert "empty" in wait_status(browser, "error").text


def test_clone_a_voice_from_a_file(browser, server):
    from selenium.webdriver.support.ui import WebDriverWait

    voice = open_page(browser, server)
    browser.execute_script("document.querySelector('details').open = true")
    browser.find_element("id", "ref-file").send_keys(str(shipped_voices()["kumo"].wav))
    browser.find_element("id", "ref-name").send_keys("Browser clone")
    browser.find_element("id", "upload").click()
    WebDriverWait(browser, 120).until(
        lambda d: "saved as spk_" in d.find_element("id", "upload-status").text)
    assert voice.first_selected_option.text.startswith("Browser clone (saved")


def test_page_asks_for_the_key_when_the_server_has_one(browser, auth_server):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(auth_server.url + "/")
    WebDriverWait(browser, 30).until(lambda d: d.find_element("id", "key-row").is_displayed())
    assert "API key" in wait_status(browser, "error").text  # the 401's message is shown
    browser.find_element("id", "api-key").send_keys("sekrit-key", Keys.TAB)
    WebDriverWait(browser, 30).until(lambda d: len(Select(d.find_element("id", "voice")).options) >= 3)
