#!/usr/bin/python3
"""Drives the EMP console in headless Chromium (Debian's chromium + chromium-driver, python3-selenium) as an operator
would: log in, open the pool dashboard, read the gauges and the EVM list from the DOM, open an EVM's details and read
its provisioning timeline, press Cordon on a host. Prints one JSON object with what it saw; saves screenshots.

Usage: console-browser.py --url URL --token TOKEN --pool POOL --host HOST [--screenshots DIR]
"""
import argparse
import json
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1360,1400"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)


# Read in one script call each: the live update may swap <main> between two WebDriver calls.
GAUGES = """
var found = {};
document.querySelectorAll('figure.gauge').forEach(function (f) {
  found[f.dataset.gauge] = {limit: +f.dataset.limit, allocated: +f.dataset.allocated, used: +f.dataset.used,
                            caption: f.querySelector('.figures').textContent};
});
return found;
"""
EVMS = """
return Array.from(document.querySelectorAll('#evms tbody tr')).map(function (r) {
  return {id: r.dataset.evm, phase: r.cells[1].textContent};
});
"""
TIMELINE = """
return Array.from(document.querySelectorAll('#timeline li')).map(function (li) {
  return {step: li.dataset.step, status: li.className, time: li.querySelector('time').textContent};
});
"""
POOLS = "return Array.from(document.querySelectorAll('section.pool')).map(function (s) { return s.dataset.pool; });"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--pool", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--screenshots")
    args = parser.parse_args()
    seen = {}
    driver = browser()
    wait = WebDriverWait(driver, 20)
    try:
        driver.get(args.url + "/")
        wait.until(ec.presence_of_element_located((By.NAME, "token")))
        seen["redirectedToLogin"] = driver.current_url.endswith("/login")
        driver.find_element(By.NAME, "token").send_keys(args.token)
        driver.find_element(By.ID, "login").click()
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "section.pool")))
        seen["pools"] = driver.execute_script(POOLS)

        wait.until(ec.element_to_be_clickable((By.LINK_TEXT, args.pool))).click()
        wait.until(ec.presence_of_element_located((By.ID, "evms")))
        seen["dashboardTitle"] = driver.execute_script("return document.querySelector('h1').textContent")
        seen["gauges"] = driver.execute_script(GAUGES)
        seen["evms"] = driver.execute_script(EVMS)
        if args.screenshots:
            driver.save_screenshot(os.path.join(args.screenshots, "console-pool-dashboard.png"))

        first = seen["evms"][0]["id"]
        wait.until(ec.element_to_be_clickable((By.LINK_TEXT, first))).click()
        wait.until(ec.presence_of_element_located((By.ID, "timeline")))
        seen["evmTitle"] = driver.execute_script("return document.querySelector('h1').textContent")
        seen["timeline"] = driver.execute_script(TIMELINE)
        if args.screenshots:
            driver.save_screenshot(os.path.join(args.screenshots, "console-evm-details.png"))

        driver.get(args.url + "/hosts/" + args.host)
        wait.until(ec.presence_of_element_located((By.ID, "cordon")))
        wait.until(ec.element_to_be_clickable((By.ID, "cordon"))).click()
        wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, "[data-field=state]"), "cordoned"))
        seen["hostState"] = driver.execute_script("return document.querySelector('[data-field=state]').textContent")
        seen["flash"] = driver.execute_script("return document.querySelector('.flash').textContent")
        seen["liveScript"] = driver.execute_script("return typeof EventSource !== 'undefined' && !!document.querySelector('script[src=\"/console/live.js\"]')")
    finally:
        driver.quit()
    json.dump(seen, sys.stdout)
    print()


if __name__ == "__main__":
    main()
