"""The radiotherapy pathway's exports (issue 6), judged by third-party tools: the case's PDF
passes `qpdf --check` and `pdftotext` reads its history back, accents included; the FHIR
export validates, resource by resource, with fhir.resources (whose R4B models are the
nearest it has to R4: nothing the export holds differs between them). In Chromium, a card
dragged to a stage it may not enter stays put with the reasons in plain words, moves once its
checklist is ticked, and a colleague mentioned in a comment finds the notification."""
import os
import re
import subprocess

import pytest
from fhir.resources.R4B.bundle import Bundle
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

import accounts
from conftest import ROOT
from test_web_pages import browser, sign_in  # noqa: F401 (the browser fixture)

ARTEFACTS = os.environ.get("HYGIE_ARTEFACTS", os.path.join(ROOT, ".build", "artefacts"))


def staff(root, admin, username, role, **extra):
    body = {"username": username, "family": "Radiothérapie", "given": username.split(".")[0].capitalize(), "role": role, **extra}
    created = accounts.created(accounts.call(root, "POST", "/api/v1/staff", admin, json=body))
    return created["practitioner"], accounts.first_sign_in(root, username)


def department(root, suffix, given, family):
    """A hospital with its radiotherapy staff (tokens by role) and a patient linked to the
    radiation oncologist, registered by the hospital's secretary."""
    admin = accounts.deployment(root, suffix)["admin"]
    team = {}
    for role, username in (("radiotherapy-technologist", "manip"), ("medical-physicist", "physicien"), ("dosimetrist", "dosi")):
        team[role] = staff(root, admin, f"{username}.{suffix}", role)[1]
    oncologist_id, team["physician"] = staff(root, admin, f"onco.{suffix}", "physician", specialty="radiation-oncology")
    secretary = accounts.call(root, "POST", "/api/v1/auth/login", json={"username": f"sec.{suffix}", "password": accounts.PASSWORD}).json()["access_token"]
    patient = accounts.created(accounts.call(root, "POST", "/api/v1/patients", secretary, json={
        "username": f"{given.lower()}.{suffix}", "family": family, "given": given, "physicians": [oncologist_id]}))["patient"]
    return team, oncologist_id, patient


@pytest.fixture(scope="module")
def case(hygie):
    hygie.auth
    root = hygie.root
    team, oncologist_id, patient = department(root, "rt1", "Hélène", "Lefèvre")
    technologist, physicist = team["radiotherapy-technologist"], team["medical-physicist"]
    dosimetrist, oncologist = team["dosimetrist"], team["physician"]
    machine = accounts.created(accounts.call(root, "POST", "/api/v1/pathways/machines", physicist, json={"name": "TrueBeam Étoile"}))["id"]
    opened = accounts.created(accounts.call(root, "POST", "/api/v1/pathways/cases", technologist, json={
        "patient": patient, "machine": machine, "priority": "urgent", "protocol_name": "Prostate 78 Gy / 39 fr", "pathology": "Prostate",
        "referring_physician": oncologist_id, "planned_sessions": 1}))
    case_id = opened["id"]

    def tick(stage, items, token):
        answer = accounts.call(root, "PUT", f"/api/v1/pathways/cases/{case_id}/checklists/{stage}", token, json={"items": {i: True for i in items}})
        assert answer.status_code == 200, answer.text

    def move(stage, token, comment=None):
        answer = accounts.call(root, "POST", f"/api/v1/pathways/cases/{case_id}/transition", token, json={"to": stage, "comment": comment})
        assert answer.status_code == 200, answer.text

    tick("to-prepare", ["identity-verified", "imaging-imported"], technologist)
    move("prescription-validated", oncologist)
    tick("prescription-validated", ["prescription-signed"], oncologist)
    move("contours-validated", oncologist)
    tick("contours-validated", ["contours-locked"], oncologist)
    move("plan-in-review", dosimetrist)
    tick("plan-in-review", ["dosimetric-qa"], dosimetrist)
    move("plan-validated", physicist)
    move("plan-in-review", oncologist, comment="Dose rectale à réduire (V70 > 20 %)")
    move("plan-validated", physicist)
    tick("plan-validated", ["oncologist-signature"], oncologist)
    move("ready-for-treatment", oncologist)
    qa = [{"test": "output-6mv", "value": 100.2}, {"test": "output-10mv", "value": 99.5}, {"test": "lasers", "value": 0.4},
          {"test": "odi", "value": 1.0}, {"test": "door-interlock", "value": True}, {"test": "beam-status", "value": "working"}]
    accounts.created(accounts.call(root, "POST", f"/api/v1/pathways/machines/{machine}/qa", physicist,
                                   json={"frequency": "daily", "results": qa, "validate": True}))
    move("in-treatment", technologist)
    accounts.created(accounts.call(root, "POST", f"/api/v1/pathways/cases/{case_id}/sessions", technologist,
                                   json={"checklist": ["patient-identity", "positioning", "plan-parameters"]}))
    accounts.created(accounts.call(root, "POST", f"/api/v1/pathways/cases/{case_id}/comments", physicist,
                                   json={"text": "Contrôle de dose in vivo conforme.", "visibility": "team"}))
    return {"root": root, "id": case_id, "oncologist": oncologist, "technologist": technologist}


def test_the_case_pdf_is_a_valid_pdf_whose_text_holds_the_history(case, tmp_path):
    answer = accounts.call(case["root"], "GET", f"/api/v1/pathways/cases/{case['id']}/export.pdf", case["oncologist"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/pdf"
    path = tmp_path / "case.pdf"
    path.write_bytes(answer.content)
    checked = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No syntax or stream encoding errors" in checked.stdout
    text = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, timeout=60).stdout
    for expected in ("Hélène Lefèvre", "Historique et validations signées", "Prescription validée", "Plan en revue", "Dose rectale à réduire",
                     "Prêt pour traitement", "En traitement", "TrueBeam Étoile", "Identité du patient contrôlée", "valide (v"):
        assert expected in text, f"{expected!r} not in the PDF's text"
    assert "INVALIDE" not in text
    assert re.search(r"\b1 ?/ ?2\b", text), "page numbers"


def test_the_fhir_export_validates_with_fhir_resources(case):
    answer = accounts.call(case["root"], "GET", f"/api/v1/pathways/cases/{case['id']}/fhir", case["technologist"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(answer.json())
    types = [entry.resource.get_resource_type() for entry in bundle.entry]
    assert types[:2] == ["Patient", "Task"]
    assert types.count("Provenance") == 9
    assert {"QuestionnaireResponse", "Procedure", "Communication"} <= set(types)
    task = bundle.entry[1].resource
    assert task.businessStatus.coding[0].code == "in-treatment"
    assert all(p.signature[0].sigFormat == "application/jose" for p in (e.resource for e in bundle.entry) if p.get_resource_type() == "Provenance")


# Found inside the script, not passed in: the board replaces its cards when it refreshes.
DRAG = """
const [caseId, stage] = arguments;
const card = document.querySelector(`.case-card[data-case="${caseId}"]`);
const column = document.querySelector(`.column[data-stage="${stage}"]`);
const transfer = new DataTransfer();
for (const [target, type] of [[card, 'dragstart'], [column, 'dragover'], [column, 'drop'], [card, 'dragend']]) {
  target.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: transfer}));
}
"""


@pytest.fixture(scope="module")
def board(hygie):
    hygie.auth
    root = hygie.root
    team, _, patient = department(root, "rt2", "Marc", "Girard")
    opened = accounts.created(accounts.call(root, "POST", "/api/v1/pathways/cases", team["radiotherapy-technologist"],
                                            json={"patient": patient, "pathology": "ORL"}))
    return {"root": root, "id": opened["id"]}


def choose_suggestion(name):
    """Clicks the autocompletion entry holding `name` once it is shown (the list is redrawn as
    answers arrive, so an entry found may be replaced before the click)."""
    def attempt(driver):
        for item in driver.find_elements(By.CSS_SELECTOR, "#mention-suggestions li"):
            if name in item.text and item.is_displayed():
                item.click()
                return True
        return False
    return attempt


def replaced(element):
    """Waits until `element` has left the page (reloaded or redrawn). Chromium reports a node
    removed mid-check either as stale or as 'Node with given id does not belong to the
    document' (a plain WebDriverException), which Selenium's staleness_of lets through."""
    def gone(_):
        try:
            element.is_enabled()
            return False
        except (StaleElementReferenceException, WebDriverException):
            return True
    return gone


def card_in(browser, stage, case_id):
    return browser.find_elements(By.CSS_SELECTOR, f'.column[data-stage="{stage}"] .case-card[data-case="{case_id}"]')


def test_a_refused_drag_is_explained_then_the_checklist_is_completed_and_the_card_moves(hygie, browser, board):
    root, case_id = board["root"], board["id"]
    browser.delete_all_cookies()
    sign_in(browser, root, "onco.rt2", accounts.PASSWORD)
    WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.CLASS_NAME, "tiles")))
    browser.get(root + "/pathways")
    card = browser.find_element(By.CSS_SELECTOR, f'.case-card[data-case="{case_id}"]')
    assert card.find_element(By.CLASS_NAME, "case-label").text.startswith("MG")  # pseudonymised: initials, never the name
    assert "Girard" not in browser.find_element(By.ID, "board").text
    browser.execute_script(DRAG, case_id, "prescription-validated")
    message = WebDriverWait(browser, 10).until(ready.visibility_of_element_located((By.ID, "board-message")))
    assert "« Identité vérifiée » n'est pas cochée" in message.text
    assert "« Examens importés » n'est pas cochée" in message.text
    assert card_in(browser, "to-prepare", case_id)

    # The technologist ticks the checklist on the case page.
    browser.delete_all_cookies()
    sign_in(browser, root, "manip.rt2", accounts.PASSWORD)
    WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.CLASS_NAME, "tiles")))
    browser.get(f"{root}/pathways/cases/{case_id}")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Marc Girard")
    checklist = browser.find_element(By.CSS_SELECTOR, 'form.checklist[data-stage="to-prepare"]')
    for item in ("identity-verified", "imaging-imported"):
        checklist.find_element(By.CSS_SELECTOR, f'input[value="{item}"][type=checkbox]').click()
    checklist.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 10).until(ready.url_contains("#checklists"))
    assert browser.find_element(By.CSS_SELECTOR, 'form.checklist[data-stage="to-prepare"] input[value="identity-verified"][type=checkbox]').is_selected()

    # The oncologist drags again: the card lands in "Prescription validée".
    browser.delete_all_cookies()
    sign_in(browser, root, "onco.rt2", accounts.PASSWORD)
    WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.CLASS_NAME, "tiles")))
    browser.get(root + "/pathways")
    browser.execute_script(DRAG, case_id, "prescription-validated")
    WebDriverWait(browser, 10).until(lambda driver: card_in(driver, "prescription-validated", case_id))
    assert not browser.find_element(By.ID, "board-message").is_displayed()
    os.makedirs(ARTEFACTS, exist_ok=True)
    browser.save_screenshot(os.path.join(ARTEFACTS, "pathway-board.png"))


def test_a_mentioned_colleague_sees_the_notification(hygie, browser, board):
    root, case_id = board["root"], board["id"]
    browser.delete_all_cookies()
    sign_in(browser, root, "onco.rt2", accounts.PASSWORD)
    WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.CLASS_NAME, "tiles")))
    browser.get(f"{root}/pathways/cases/{case_id}")
    body = browser.find_element(By.ID, "comment-body")
    body.send_keys("Merci de vérifier les contraintes @Dosi")
    WebDriverWait(browser, 10, ignored_exceptions=[StaleElementReferenceException]).until(choose_suggestion("Dosi Radiothérapie"))
    body.send_keys("avant jeudi.")
    thread = browser.find_element(By.CLASS_NAME, "comments")
    browser.find_element(By.CSS_SELECTOR, "#comment-form button[type=submit]").click()
    # The page reloads once the comment is saved: reading the old thread meanwhile can fail.
    WebDriverWait(browser, 10).until(replaced(thread))
    WebDriverWait(browser, 10, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda driver: "avant jeudi." in driver.find_element(By.CLASS_NAME, "comments").text)

    browser.delete_all_cookies()
    sign_in(browser, root, "dosi.rt2", accounts.PASSWORD)
    WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.CLASS_NAME, "tiles")))
    badge = WebDriverWait(browser, 10).until(ready.visibility_of_element_located((By.ID, "notices-badge")))
    assert int(badge.text) >= 1
    browser.get(root + "/notifications")
    notices = browser.find_element(By.CLASS_NAME, "notifications").text
    assert "Mention dans un dossier" in notices
    assert "vous a mentionné" in notices
    # Opened, the list counts as seen: the badge is gone.
    browser.get(root + "/")
    WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.CSS_SELECTOR, 'nav a[href="/notifications"][data-checked]')))
    assert not browser.find_elements(By.ID, "notices-badge")


def test_an_admin_adds_a_mandatory_checklist_item_from_the_admin_page(hygie, browser, board):
    root, case_id = board["root"], board["id"]
    browser.delete_all_cookies()
    sign_in(browser, root, "admin.rt2", accounts.PASSWORD)
    WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.CLASS_NAME, "tiles")))
    browser.get(root + "/admin/pathways")
    version = browser.find_element(By.TAG_NAME, "h1").text
    section = browser.find_element(By.ID, "stage-prescription-validated")
    form = section.find_element(By.CSS_SELECTOR, 'form[action="/admin/pathways/checklist"]')
    form.find_element(By.CSS_SELECTOR, 'input[name=text_fr][placeholder]').send_keys("Dosimétrie in vivo prévue")
    form.find_element(By.CSS_SELECTOR, 'input[name=mandatory][value=new]').click()
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    flash = WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.CSS_SELECTOR, "[role=status]")))
    assert "Nouvelle version du parcours" in flash.text
    assert browser.find_element(By.TAG_NAME, "h1").text != version
    # The case waiting in "Prescription validée" now needs the new item before it moves on.
    oncologist = accounts.call(root, "POST", "/api/v1/auth/login", json={"username": "onco.rt2", "password": accounts.PASSWORD}).json()["access_token"]
    accounts.call(root, "PUT", f"/api/v1/pathways/cases/{case_id}/checklists/prescription-validated", oncologist, json={"items": {"prescription-signed": True}})
    refused = accounts.call(root, "POST", f"/api/v1/pathways/cases/{case_id}/transition", oncologist, json={"to": "contours-validated"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["details"] == ["checklist:prescription-validated/dosimetrie-in-vivo-prevue"]

    # The stage's target delay, set on the same page, is what the board measures against.
    section = browser.find_element(By.ID, "stage-prescription-validated")
    hours = section.find_element(By.CSS_SELECTOR, 'form[action="/admin/pathways/target"] input[name=hours]')
    assert browser.find_element(By.CSS_SELECTOR, f'label[for="{hours.get_attribute("id")}"]').text
    hours.clear()
    hours.send_keys("12")
    section.find_element(By.CSS_SELECTOR, 'form[action="/admin/pathways/target"] button[type=submit]').click()
    WebDriverWait(browser, 10).until(replaced(section))
    assert "Nouvelle version du parcours" in browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    admin = accounts.call(root, "POST", "/api/v1/auth/login", json={"username": "admin.rt2", "password": accounts.PASSWORD}).json()["access_token"]
    stages = accounts.call(root, "GET", "/api/v1/admin/pathways/radiotherapy", admin).json()["stages"]
    assert next(stage for stage in stages if stage["code"] == "prescription-validated")["target_hours"] == 12
