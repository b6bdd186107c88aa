"""The web pages in headless Chromium through Selenium: the first sign-in with its forced
password change, then a hospital admin managing staff, as a person would click through."""
import shutil

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import Select, WebDriverWait

from accounts import call, created, super_admin

NEW_PASSWORD = "Mot-de-passe-web-2026"


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    assert chromium and driver_path, "Chromium and chromedriver are needed (scripts/test installs them)"
    options = Options()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--lang=fr-FR", "--window-size=1280,900"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "fr-FR,fr"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def hospital_admin(hygie):
    hygie.auth  # the super admin has chosen its password
    token = super_admin(hygie.root)
    hospital = created(call(hygie.root, "POST", "/api/v1/admin/hospitals", token, json={"name": "Hôpital Web"}))["id"]
    created(call(hygie.root, "POST", "/api/v1/admin/hospital-admins", token,
                 json={"username": "admin.web", "family": "Lambert", "given": "Anne", "hospital": hospital}))
    return "admin.web"


def sign_in(browser, root, username, password):
    browser.get(root + "/login")
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "sign-in").click()


def test_first_sign_in_forces_a_new_password_then_shows_the_home_page(hygie, browser, hospital_admin):
    sign_in(browser, hygie.root, hospital_admin, "mediconnect")
    WebDriverWait(browser, 10).until(ready.url_contains("/password"))
    assert "Première connexion" in browser.find_element(By.CLASS_NAME, "notice").text
    # Nothing else until the password is changed.
    browser.get(hygie.root + "/staff")
    assert browser.current_url.endswith("/password")
    browser.find_element(By.ID, "current_password").send_keys("mediconnect")
    browser.find_element(By.ID, "new_password").send_keys(NEW_PASSWORD)
    browser.find_element(By.ID, "confirm_password").send_keys(NEW_PASSWORD)
    browser.find_element(By.ID, "save-password").click()
    WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.CLASS_NAME, "tiles")))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Bonjour, admin.web"
    assert "Personnel" in browser.find_element(By.CLASS_NAME, "tiles").text
    assert browser.find_element(By.CSS_SELECTOR, "[role=status]").text == "Votre mot de passe a été changé."


def test_hospital_admin_creates_finds_and_deactivates_staff(hygie, browser, hospital_admin):
    browser.get(hygie.root + "/staff")
    if "/login" in browser.current_url:
        sign_in(browser, hygie.root, hospital_admin, NEW_PASSWORD)
        browser.get(hygie.root + "/staff")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Personnel de l'hôpital"
    form = browser.find_element(By.ID, "new-staff")
    form.find_element(By.ID, "p-username").send_keys("inf.selenium")
    form.find_element(By.ID, "p-given").send_keys("Hélène")
    form.find_element(By.ID, "p-family").send_keys("Dubois")
    Select(form.find_element(By.ID, "p-role")).select_by_value("nurse")
    form.find_element(By.ID, "create-staff").click()
    WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.CSS_SELECTOR, "[role=status]")))
    assert "mediconnect" in browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    rows = browser.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert any("Hélène Dubois" in row.text and "Infirmier" in row.text for row in rows)

    # Search is accent- and case-insensitive; a miss shows nothing.
    search = browser.find_element(By.ID, "q")
    search.send_keys("HELENE")
    listing = browser.find_element(By.CSS_SELECTOR, "tbody")
    search.submit()
    # submit() does not wait for the next page: wait for the old listing to go.
    WebDriverWait(browser, 10).until(ready.staleness_of(listing))
    rows = browser.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == 1 and "inf.selenium" in rows[0].text
    browser.get(hygie.root + "/staff?q=personne")
    assert "Rien à afficher" in browser.find_element(By.CSS_SELECTOR, "tbody").text

    browser.get(hygie.root + "/staff?q=dubois")
    browser.find_element(By.XPATH, "//tr[contains(., 'inf.selenium')]//button[contains(., 'Désactiver')]").click()
    WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.CSS_SELECTOR, "[role=status]")))
    row = browser.find_element(By.XPATH, "//tr[contains(., 'inf.selenium')]")
    assert "Inactif" in row.text

    # Every visible form field has a label; the page switches to English on request.
    unlabeled = browser.execute_script(
        "return [...document.querySelectorAll('input:not([type=hidden]), select')]"
        ".filter(e => !document.querySelector(`label[for='${e.id}']`) && !e.closest('label')).map(e => e.name)")
    assert unlabeled == []
    browser.get(hygie.root + "/staff?lang=en")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Hospital staff"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
