"""The issue-4 journey in headless Chromium: a patient asks a physician she is not linked to
for an appointment from her portal, the secretary validates it from her queue, and the
physician, now linked, opens the chart and records an allergy. Screenshots of each step are
kept in .build/artefacts/ (HYGIE_ARTEFACTS to change)."""
import os

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import Select, WebDriverWait

from accounts import PASSWORD, call, created, deployment, first_sign_in
from conftest import ROOT
from test_web_pages import browser, sign_in  # noqa: F401 (the browser fixture)

ARTEFACTS = os.environ.get("HYGIE_ARTEFACTS", os.path.join(ROOT, ".build", "artefacts"))

HOURS = {
    "appointment_types": [{"code": "consultation", "label": "Consultation", "minutes": 30}],
    "opening_hours": [{"weekday": day, "start": "08:00", "end": "18:00", "type": "consultation"} for day in range(1, 8)],
    "horizon_days": 14,
}


def screenshot(browser, name):
    os.makedirs(ARTEFACTS, exist_ok=True)
    browser.save_screenshot(os.path.join(ARTEFACTS, f"care-journey-{name}.png"))


def switch_user(browser, root, username):
    browser.delete_all_cookies()
    sign_in(browser, root, username, PASSWORD)
    WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.CLASS_NAME, "tiles")))


def test_request_validation_and_chart(hygie, browser):  # noqa: F811
    hygie.auth
    site = deployment(hygie.root, "journey")
    specialist = created(call(hygie.root, "POST", "/api/v1/staff", site["admin"],
                              json={"username": "dr2.journey", "family": "Lemoine", "given": "Hugo", "role": "physician",
                                    "specialty": "cardiology"}))
    doctor = first_sign_in(hygie.root, "dr2.journey")
    published = call(hygie.root, "PUT", f"/api/v1/physicians/{specialist['practitioner']}/availability", doctor, json=HOURS)
    assert published.status_code == 200, published.text
    patient_id = site["patient"]["patient"]
    assert call(hygie.root, "GET", f"/fhir/Patient/{patient_id}", doctor).status_code == 404

    # The patient asks Dr Lemoine for the first free slot, from her portal.
    switch_user(browser, hygie.root, site["patient_username"])
    browser.get(hygie.root + "/appointments/request")
    Select(browser.find_element(By.ID, "practitioner")).select_by_value(specialist["practitioner"])
    browser.find_element(By.ID, "show-slots").click()
    form = WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.ID, "request-form")))
    form.find_element(By.CSS_SELECTOR, "input[name=slot]").click()
    form.find_element(By.ID, "reason").send_keys("Palpitations depuis deux semaines")
    screenshot(browser, "1-patient-request")
    form.find_element(By.ID, "send-request").click()
    WebDriverWait(browser, 10).until(ready.url_contains("/portal"))
    row = browser.find_element(By.CSS_SELECTOR, "#my-appointments tr[data-status=proposed]")
    assert "Lemoine" in row.text and "en attente de validation" in row.text
    screenshot(browser, "2-patient-portal")

    # The secretary validates it from her queue.
    switch_user(browser, hygie.root, "sec.journey")
    browser.get(hygie.root + "/appointments")
    queue = browser.find_element(By.ID, "queue")
    request_row = queue.find_element(By.XPATH, ".//tr[contains(., 'Palpitations')]")
    assert "Durand" in request_row.text
    screenshot(browser, "3-secretary-queue")
    request_row.find_element(By.CSS_SELECTOR, "button.validate").click()
    WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.CSS_SELECTOR, "[role=status]")))
    assert "validé" in browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    screenshot(browser, "4-secretary-validated")

    # The physician, now linked, opens the chart and records an allergy.
    switch_user(browser, hygie.root, "dr2.journey")
    browser.get(hygie.root + "/patients")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Durand").click()
    WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.ID, "entry-form")))
    assert "Hugo Lemoine" in browser.find_element(By.ID, "identity").text
    form = browser.find_element(By.ID, "entry-form")
    Select(form.find_element(By.ID, "e-kind")).select_by_value("allergy")
    assert form.find_element(By.ID, "e-reaction").is_displayed()
    assert not form.find_element(By.ID, "e-dosage").is_displayed()
    form.find_element(By.ID, "e-title").send_keys("Pénicillines")
    form.find_element(By.ID, "e-code").send_keys("J01C")
    Select(form.find_element(By.ID, "e-criticality")).select_by_value("high")
    form.find_element(By.ID, "e-reaction").send_keys("Urticaire")
    screenshot(browser, "5-physician-chart-form")
    form.find_element(By.ID, "save-entry").click()
    WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.CSS_SELECTOR, "[role=status]")))
    timeline = browser.find_element(By.ID, "timeline")
    assert "Pénicillines" in timeline.text and "Allergie" in timeline.text
    browser.execute_script("arguments[0].scrollIntoView()", timeline)
    screenshot(browser, "6-physician-chart-allergy")

    # Prescribing a penicillin warns before saving; the physician confirms after checking.
    form = browser.find_element(By.ID, "entry-form")
    Select(form.find_element(By.ID, "e-kind")).select_by_value("medication")
    form.find_element(By.ID, "e-title").send_keys("Amoxicilline 1 g")
    form.find_element(By.ID, "e-code").send_keys("J01CA04")
    form.find_element(By.ID, "e-dosage").send_keys("1 g matin et soir pendant 7 jours")
    form.find_element(By.ID, "save-entry").click()
    alert = WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.CSS_SELECTOR, "[role=alert]")))
    assert "allergie" in alert.text and "Pénicillines (J01C)" in alert.text
    form = browser.find_element(By.ID, "entry-form")
    assert form.find_element(By.ID, "e-title").get_attribute("value") == "Amoxicilline 1 g"
    screenshot(browser, "7-physician-allergy-warning")
    form.find_element(By.ID, "acknowledge").click()
    form.find_element(By.ID, "save-entry").click()
    WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.CSS_SELECTOR, "[role=status]")))
    assert "Amoxicilline 1 g" in browser.find_element(By.ID, "timeline").text

    # The same allergy is in the record over FHIR, and the patient reads it.
    allergies = call(hygie.root, "GET", f"/fhir/AllergyIntolerance?patient={patient_id}", doctor).json()
    assert [entry["resource"]["code"]["coding"][0]["code"] for entry in allergies["entry"]] == ["J01C"]
    patient_token = call(hygie.root, "POST", "/api/v1/auth/login",
                         json={"username": site["patient_username"], "password": PASSWORD}).json()["access_token"]
    record = call(hygie.root, "GET", f"/api/v1/medical-records?patient={patient_id}&kind=allergy", patient_token).json()
    assert [item["title"] for item in record["items"]] == ["Pénicillines"]
