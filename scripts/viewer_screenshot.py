"""Regenerates docs/viewer.png, the README's screenshot of the viewer on a real model.

The built-in corpus (98 real traced models) is mined, the viewer page of one model is
written, opened in headless Chromium (Debian's ``chromium`` + ``chromium-driver``), one
macro node is expanded and the window is captured.

    .venv/bin/python scripts/viewer_screenshot.py [--model resnet50] [--expand 1]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import archmotif

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet50", help="a graph of the built-in corpus")
    p.add_argument("--expand", type=int, nargs="*", default=[1], help="macro nodes to expand")
    p.add_argument("--hover", type=int, help="highlight the instances of this motif")
    p.add_argument("--flat", action="store_true", help="expand into operators only")
    p.add_argument("--fit", action="store_true", help="fit the drawing in the window")
    p.add_argument("-o", "--output", default=str(ROOT / "docs" / "viewer.png"))
    p.add_argument("--size", default="1500,1000", help="window width,height in pixels")
    args = p.parse_args()

    graphs = archmotif.datasets.load("builtin")
    mined = archmotif.mine(graphs, progress=False)
    index = [g.name for g in graphs].index(args.model)
    page = Path(tempfile.mkdtemp()) / "viewer.html"
    mined.view(index, page)

    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--window-size={args.size}", "--force-device-scale-factor=1"):  # fmt: skip
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        driver.get(page.as_uri())
        if args.flat:
            driver.find_element(By.ID, "nested").click()
        for k in args.expand:
            driver.find_element(By.CSS_SELECTOR, f'g.macro[data-i="{k}"]').click()
        if args.fit:
            driver.find_element(By.ID, "fit").click()
        if args.hover is not None:
            row = driver.find_element(By.CSS_SELECTOR, f'#motif-rows tr[data-m="{args.hover}"]')
            ActionChains(driver).move_to_element(row).perform()
        else:
            ActionChains(driver).move_to_element(driver.find_element(By.ID, "title")).perform()
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(args.output)
    finally:
        driver.quit()
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
