"""explorer.html in a real browser (headless Chromium driven by selenium): it loads offline without console errors,
draws one mark per track, changes its legend with the colouring, and plays the track that is clicked."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL_STYLES

from musiclust.cli import run_experiments_main

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def explorer_run(small_corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("explorer")
    code = run_experiments_main(
        [
            "--data-path",
            str(small_corpus),
            # every style of the small corpus (another test may have run it on fewer, which the corpus remembers):
            # the madrigals bring lyrics in one language for the cards' words
            "--styles",
            *SMALL_STYLES,
            "--output-dir",
            str(out),
            "--models",
            "raw",
            "pca",
            "lyrics",
            "raw@musicnn",  # musicnn's tags for the cluster cards
            "--clusterers",
            "kmeans",
            "agglomerative",
            "--seeds",
            "0",
            "--no-plots",
            "--no-progress",
            "--no-cache",
        ]
    )
    assert code == 0
    return next(p for p in out.iterdir() if p.is_dir() and p.name.startswith("corpus-"))


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromium-driver are not installed (.ci/run installs them with apt-get)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--autoplay-policy=no-user-gesture-required",
        "--window-size=1300,1000",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    yield driver
    driver.quit()


def isolated_point(browser, among: list[str] | None = None) -> tuple[int, str, float, float]:
    """``(index, legend label, x, y)`` of the map's most isolated point (among points whose legend label is in
    ``among``, when given), at its pixel position in the viewport."""
    return browser.execute_script(
        """
        const doc = Bokeh.documents[0];
        const pv = Bokeh.index.get_one(doc.get_model_by_name('map'));
        const d = doc.get_model_by_name('points').data_source.data;
        const rect = pv.canvas_view.el.getBoundingClientRect();
        const pts = d.x.map((x, i) => [rect.left + pv.frame.x_scale.compute(x),
                                       rect.top + pv.frame.y_scale.compute(d.y[i])]);
        let best = -1, bestGap = -1;
        pts.forEach((p, i) => {
            if (arguments[0] !== null && !arguments[0].includes(d.legend[i])) { return; }
            const gap = Math.min(...pts.filter((_, j) => j !== i).map(q => Math.hypot(p[0] - q[0], p[1] - q[1])));
            if (gap > bestGap) { bestGap = gap; best = i; }
        });
        return [best, d.legend[best], pts[best][0], pts[best][1]];""",
        among,
    )


def test_the_explorer_file_is_standalone_and_offline(explorer_run):
    html = (explorer_run / "explorer.html").read_text()
    assert "cdn.bokeh.org" not in html and '<script src="http' not in html  # JavaScript inlined, no CDN
    assert '<audio id="player"' in html


def test_explorer_in_a_real_browser(explorer_run, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import Select

    tracks = pd.read_csv(explorer_run / "tracks.csv", keep_default_na=False)
    browser.get((explorer_run / "explorer.html").as_uri())
    for _ in range(50):
        if browser.execute_script("return window.Bokeh !== undefined && Bokeh.documents.length > 0"):
            break
        time.sleep(0.1)
    time.sleep(0.5)
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    n_marks = browser.execute_script("""
        const r = Bokeh.documents[0].get_model_by_name('points');
        return r.data_source.data.x.filter(Number.isFinite).length;""")
    assert n_marks == len(tracks)  # one mark per track

    legend_js = """
        const d = Bokeh.documents[0].get_model_by_name('points').data_source.data;
        return Array.from(new Set(d[Bokeh.documents[0].get_model_by_name('legend').items[0].label.field])).sort();"""
    before = browser.execute_script(legend_js)
    assert before == sorted(tracks["style"].unique())
    select = browser.execute_script("""
        const m = Bokeh.documents[0].get_model_by_name('colour_select');
        return Bokeh.index.get_one(m).shadow_el.querySelector('select');""")
    Select(select).select_by_visible_text("language")
    time.sleep(0.3)
    after = browser.execute_script(legend_js)
    assert after == sorted(tracks["language"].unique()) and after != before  # the legend follows the colouring

    # click the most isolated point, at its pixel position on the canvas
    index, _, x, y = isolated_point(browser)
    ActionChains(browser).move_by_offset(int(round(x)), int(round(y))).click().perform()
    time.sleep(1.0)
    state = browser.execute_script("""
        const p = document.getElementById('player');
        return [p.getAttribute('src'), p.paused, p.currentTime];""")
    time.sleep(1.0)
    later = browser.execute_script("return document.getElementById('player').currentTime")
    expected = Path(tracks["audio_path"][index]).resolve()
    assert (explorer_run / unquote(state[0])).resolve() == expected  # that track's audio, relative to the run
    assert state[1] is False and later > state[2]  # it plays: not paused, time advancing
    assert browser.execute_script("return document.getElementById('now-playing').textContent").strip()
    shot = explorer_run / "explorer.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000

    # the cluster cards: pick the best method from the panel, click a point, its cluster's card appears
    index = json.loads((explorer_run / "clusters" / "index.json").read_text())
    method = json.loads((explorer_run / "clusters" / f"{index[0]['slug']}.json").read_text())
    titles = browser.execute_script(
        "return Array.from(document.querySelectorAll('#cluster-list button.method')).map(b => b.textContent)"
    )
    assert len(titles) == len(index) and titles[0].startswith(f"{method['representation']} + {method['clusterer']}")
    browser.execute_script("document.querySelector('#cluster-list button.method').click()")
    time.sleep(0.5)
    legend = browser.execute_script(legend_js)
    assert legend == sorted("noise" if c["noise"] else str(c["cluster"]) for c in method["cards"])
    listed = browser.execute_script(
        "return Array.from(document.querySelectorAll('#cluster-list button.cluster')).map(b => b.dataset.cluster)"
    )
    assert sorted(listed) == legend  # one entry per cluster of the method, beside the map
    with_words = [str(c["cluster"]) for c in method["cards"] if c["words"] and c["tags"] and not c["noise"]]
    assert with_words, "no cluster of the best method has both tags and lyric words"
    _, cluster, x, y = isolated_point(browser, among=with_words)
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    actions = ActionBuilder(browser)  # a click at that point's position in the viewport
    actions.pointer_action.move_to_location(int(round(x)), int(round(y))).click()
    actions.perform()
    time.sleep(0.8)
    shown = browser.execute_script("return document.getElementById('card').dataset.cluster")
    text = browser.execute_script("return document.getElementById('card').innerText")
    card = next(c for c in method["cards"] if str(c["cluster"]) == cluster)
    assert shown == cluster and text.startswith(f"cluster {cluster}")
    assert all(t["tag"] in text for t in card["tags"])  # its distinctive musicnn tags ...
    assert all(w in text for words in card["words"].values() for w in words["words"])  # ... and lyric words
    link = browser.execute_script("return document.getElementById('playlist-link').getAttribute('href')")
    assert link == method["playlists"][cluster] and (explorer_run / link).is_file()
    # the panel's own entry shows the same card
    browser.execute_script(
        f"document.querySelector('#cluster-list button.cluster[data-cluster=\"{cluster}\"]').click()"
    )
    assert browser.execute_script("return document.getElementById('card').dataset.cluster") == cluster
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_the_player_plays_files_whose_names_hold_url_characters(explorer_run, browser, tmp_path):
    """A '#' or '?' in a file name once cut the player's URL short ('Song #1.wav' loaded 'Song ', which failed), and
    a '%' could be misread: the page now percent-encodes each relative path."""
    from musiclust.explorer import write_explorer

    run = tmp_path / "run"
    shutil.copytree(explorer_run, run)
    tracks = pd.read_csv(run / "tracks.csv", keep_default_na=False)
    songs = tmp_path / "my songs"
    songs.mkdir()
    names = ["Song #1.wav", "What?.wav", "100%20 Pure.wav", "Lied ä ö.wav"]
    for i, name in enumerate(names):
        shutil.copyfile(Path(tracks.loc[i, "audio_path"]).resolve(), songs / name)
        tracks.loc[i, "audio_path"] = str(songs / name)
    tracks.to_csv(run / "tracks.csv", index=False)
    write_explorer(run)
    browser.get((run / "explorer.html").as_uri())
    for _ in range(50):
        if browser.execute_script("return window.Bokeh !== undefined && Bokeh.documents.length > 0"):
            break
        time.sleep(0.1)
    for i, name in enumerate(names):
        # selecting the point runs the page's own click handler
        browser.execute_script(
            "Bokeh.documents[0].get_model_by_name('points').data_source.selected.indices = [arguments[0]];", i
        )
        time.sleep(1.0)
        src, error, start = browser.execute_script(
            "const p = document.getElementById('player'); return [p.getAttribute('src'), p.error && p.error.code, "
            "p.currentTime];"
        )
        time.sleep(0.5)
        later = browser.execute_script("return document.getElementById('player').currentTime")
        assert (run / unquote(src)).resolve() == (songs / name).resolve(), src
        assert error is None and later > start, (name, src, error)  # it plays


def test_feature_table_runs_have_no_player_and_say_why(shared_data, tmp_path, capsys):
    table = tmp_path / "t.csv"
    pd.read_csv(shared_data / "gtzan" / "features_30_sec.csv").iloc[::10].to_csv(table, index=False)
    code = run_experiments_main(
        [
            "--dataset",
            "table",
            "--data-path",
            str(table),
            "--output-dir",
            str(tmp_path),
            "--models",
            "raw",
            "--clusterers",
            "kmeans",
            "--seeds",
            "0",
            "--no-plots",
            "--no-progress",
        ]
    )
    assert code == 0
    html = next(tmp_path.glob("table-*/explorer.html")).read_text()
    assert '<audio id="player"' not in html and "nothing to play" in html
    emb = np.load(next(tmp_path.glob("table-*/embeddings_2d.npz")))
    assert emb["raw_xy"].shape == (100, 2)
    info = json.loads(next(tmp_path.glob("table-*/config.json")).read_text())
    assert "explorer" in info["timing_s"]
