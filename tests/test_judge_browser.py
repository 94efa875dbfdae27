"""The judging app in a real headless Chromium (Selenium + Debian's chromium-driver), with the server started by
the test as `colorbench judge` on a free loopback port: two judges answer by keyboard and by mouse, one reloads
mid-way, the server is killed with SIGKILL and restarted; every answer is in the database exactly once with the
methods on the sides the browser showed."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT, fixture_path
from evalrun_helpers import make_run

from colorbench.judge.store import JudgementStore
from colorbench.runfolder import RunFolder

pytestmark = pytest.mark.browser
INSTALL = "apt-get install -y chromium chromium-driver && pip install 'selenium>=4.10'"
CHROMIUM = os.environ.get("COLORBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("COLORBENCH_CHROMEDRIVER", "/usr/bin/chromedriver")


def _skip_without_browser():
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip(f"selenium is not installed; install the browser test tools with: {INSTALL}")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (shutil.which(path) or Path(path).exists()):
            pytest.skip(f"{path} is absent; install headless Chromium and its driver with: {INSTALL}")


def _browser(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which(CHROMIUM) or CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,900", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which(CHROMEDRIVER) or CHROMEDRIVER), options=options)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`colorbench judge RUN --port P` in a subprocess of its own (so SIGKILL hits only it)."""

    def __init__(self, run: Path | str, port: int, log: Path, cwd: Path | None = None):
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")}
        env.pop("COLORBENCH_RESULTS", None)
        self.log = open(log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "colorbench", "judge", str(run), "--port", str(port),
                                      "--seed", "0"], env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=cwd)
        self.url = f"http://127.0.0.1:{port}/"
        for _ in range(300):  # bounded wait for the server to answer
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}: {log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(self.url, timeout=1).read()
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"server did not start: {log.read_text()[-2000:]}")

    def kill(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.log.close()


class Judge:
    def __init__(self, driver, url: str, name: str):
        from selenium.webdriver.common.by import By

        self.d, self.By, self.name = driver, By, name
        driver.get(url)
        field = self._wait(lambda: driver.find_element(By.ID, "name-input"))
        field.send_keys(name)
        driver.find_element(By.ID, "name-ok").click()
        self.token = self._wait_token(None)

    def _wait(self, get, timeout: float = 60):
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.d, timeout).until(lambda _d: get())

    def _wait_token(self, old):
        """The token of the item on screen once it differs from ``old`` and the buttons are enabled again."""
        def ready():
            token = self.d.execute_script("return document.body.dataset.token || null")
            enabled = self.d.execute_script("return !document.querySelector('.answers button').disabled")
            return token if token and token != old and enabled else None
        return self._wait(ready)

    def shown_images(self) -> dict[str, bytes]:
        """The bytes behind the left/right images the browser shows (fetched from their src URLs)."""
        out = {}
        for side in ("left", "right"):
            src = self.d.find_element(self.By.ID, f"img-{side}").get_attribute("src")
            out[side] = urllib.request.urlopen(src).read()
        return out

    def answer(self, value: str, how: str, peek: bool = False) -> tuple[str, str, bool, dict[str, bytes]]:
        from selenium.webdriver.common.keys import Keys

        token, images = self.token, self.shown_images()
        body = self.d.find_element(self.By.TAG_NAME, "body")
        if peek:
            body.send_keys("v")
            self._wait(lambda: self.d.find_element(self.By.ID, "truth-figure").is_displayed())
        if how == "mouse":
            self.d.find_element(self.By.ID, f"answer-{value}").click()
        else:
            body.send_keys({"left": Keys.ARROW_LEFT, "right": Keys.ARROW_RIGHT, "tie": Keys.ARROW_DOWN,
                            "both-bad": "b"}[value])
        self.token = self._wait_token(token)
        return token, value, peek, images

    def reload(self):
        self.d.refresh()
        self.token = self._wait_token(None)

    def reload_without_waiting(self):
        self.d.refresh()
        self._wait(lambda: self.d.execute_script("return document.body.dataset.token || null"))


@pytest.fixture(scope="module")
def judge_run(tmp_path_factory):
    _skip_without_browser()
    root = tmp_path_factory.mktemp("browser") / "run"
    # no gray-only source here: every method leaves a gray photo gray, so its two sides would be the same bytes
    make_run(root, fixture_path("sports"), n_images=5, stochastic_k=2, include_gray_source=False)
    return root


def test_two_judges_keyboard_mouse_reload_and_sigkill(judge_run, tmp_path):
    run = RunFolder(judge_run)
    port = _free_port()
    server = Server(run.path, port, tmp_path / "server.log")
    drivers = [_browser(tmp_path / "profile-ana"), _browser(tmp_path / "profile-ben")]
    try:
        ana, ben = Judge(drivers[0], server.url, "Ana"), Judge(drivers[1], server.url, "Ben")
        answers = {"ana": [], "ben": []}
        cycle = ["left", "right", "tie", "both-bad", "right"]
        for i in range(20):
            how = "keyboard" if i % 2 == 0 else "mouse"
            answers["ana"].append(ana.answer(cycle[i % 5], how, peek=(i == 3)))
            if i < 12:  # the second judge answers in between, against the same server
                answers["ben"].append(ben.answer(cycle[(i + 2) % 5], "mouse" if how == "keyboard" else "keyboard"))
            if i == 9:
                before = ana.token
                ana.reload()
                assert ana.token == before  # the unanswered pair comes back, not a new one
        # SIGKILL right after the last answer was acknowledged, then restart on the same port
        server.kill()
        server = Server(run.path, port, tmp_path / "server.log")
        ben.reload()
        answers["ben"].append(ben.answer("left", "keyboard"))

        frame = JudgementStore.open(run.path).judgements().set_index("token")
        given = [(judge, *a) for judge, rows in answers.items() for a in rows]
        assert len(frame) == len(given) == 33 and frame.index.is_unique
        for judge, token, value, peek, images in given:
            row = frame.loc[token]
            assert row["judge"] == judge.capitalize() and row["answer"] == value, (judge, token)
            assert bool(row["truth_peeked"]) == peek, (judge, token)
            # the right methods on the right sides: the bytes the browser showed are those methods' files
            assert images["left"] == run.output_path(row["left_method"], row["image_id"],
                                                     int(row["left_k"])).read_bytes()
            assert images["right"] == run.output_path(row["right_method"], row["image_id"],
                                                      int(row["right_k"])).read_bytes()
            assert images["left"] != images["right"]
        page = drivers[0].page_source
        assert not any(m in page for m in run.methods())  # the page never names a method
    finally:
        for d in drivers:
            d.quit()
        server.kill()


def test_judge_demo_as_readme_types_it_shows_images_and_offers_no_answer_before_they_load(judge_run, tmp_path):
    """`colorbench judge demo` from the project folder (a relative run name): the images load and answers count;
    with one method's images gone, the page keeps its answers off, says why, and nothing is stored."""
    project = tmp_path / "project"
    shutil.copytree(judge_run, project / "results" / "demo", ignore=shutil.ignore_patterns("judgements.sqlite*"))
    port = _free_port()
    server = Server("demo", port, tmp_path / "server.log", cwd=project)
    driver = _browser(tmp_path / "profile")
    try:
        judge = Judge(driver, server.url, "Ana")  # waits until the buttons are on, i.e. both images loaded
        assert driver.execute_script("return document.getElementById('img-left').naturalWidth") > 0
        assert driver.execute_script("return document.getElementById('img-right').naturalWidth") > 0
        judge.answer("left", "keyboard")
        store = JudgementStore.open(project / "results" / "demo")
        assert len(store.judgements()) == 1 and store.judgements().iloc[0]["seen"] == 1

        for method in RunFolder(project / "results" / "demo").methods():  # every image gone: nothing can load
            for png in (project / "results" / "demo" / "images" / method).glob("*.png"):
                png.unlink()
        judge.reload_without_waiting()
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(driver, 60).until(
            lambda d: "could not be loaded" in d.find_element(judge.By.ID, "status").text)
        assert driver.execute_script("return document.querySelector('.answers button').disabled")
        from selenium.webdriver.common.keys import Keys

        driver.find_element(judge.By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
        time.sleep(1)
        assert len(store.judgements(include_unverified=True)) == 1  # the key press stored nothing
    finally:
        driver.quit()
        server.kill()
