"""Make the README's screenshots (docs/explorer.png, docs/report_page1.png, docs/reconstruction_convvae.png) from a
finished run folder.

    python docs/make_screenshots.py results/<run-id>

The explorer is opened in headless Chromium (Debian's chromium + chromium-driver, driven by selenium); the report's
first page is rendered by Typst straight from report/report.typ; the ConvVAE figure is copied. All are scaled down
to small PNGs for the repository.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def shrink(path: Path, width: int) -> None:
    from PIL import Image

    img = Image.open(path)
    img.thumbnail((width, width * 4))
    img.convert("P", palette=Image.ADAPTIVE, colors=256).save(path, optimize=True)


def explorer(run: Path, out: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,860",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        driver.get((run / "explorer.html").as_uri())
        time.sleep(2)
        # the best method's clusters beside the map, and one cluster's card
        driver.execute_script("document.querySelector('#cluster-list button.method')?.click()")
        time.sleep(0.8)
        driver.execute_script("document.querySelectorAll('#cluster-list button.cluster')[1]?.click()")
        time.sleep(0.5)
        driver.save_screenshot(str(out))
    finally:
        driver.quit()
    shrink(out, 900)


def report_page(run: Path, out: Path) -> None:
    import typst

    pages = typst.compile(str(run / "report" / "report.typ"), root=str(run / "report"), format="png", ppi=80)
    out.write_bytes(pages[0] if isinstance(pages, list) else pages)
    shrink(out, 620)


def main() -> int:
    run = Path(sys.argv[1]).resolve()
    explorer(run, HERE / "explorer.png")
    report_page(run, HERE / "report_page1.png")
    shutil.copyfile(run / "figures" / "reconstruction_convvae.png", HERE / "reconstruction_convvae.png")
    shrink(HERE / "reconstruction_convvae.png", 900)
    names = ("explorer.png", "report_page1.png", "reconstruction_convvae.png")
    for name in names:
        print(HERE / name, (HERE / name).stat().st_size // 1024, "KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
