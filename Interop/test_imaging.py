"""/api/v1/imaging, viewer sessions and the images pages (issue 5): upload, list, details,
delete, viewer links whose token opens one study read-only, the per-account session limit,
the OHIF data source; then in Chromium a physician drops a series on the page and scrolls it
in the built-in viewer (screenshot kept in .build/artefacts/)."""
import copy
import io
import os
import zipfile

import pydicom
import pytest
import requests
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

import accounts
from conftest import ROOT
from test_web_pages import browser, sign_in  # noqa: F401 (the browser fixture)

ARTEFACTS = os.environ.get("HYGIE_ARTEFACTS", os.path.join(ROOT, ".build", "artefacts"))


def login(root, username):
    response = accounts.call(root, "POST", "/api/v1/auth/login", json={"username": username, "password": accounts.PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def series(patient_id, count, description="Thorax"):
    template = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    study, series_uid = generate_uid(), generate_uid()
    files = []
    for number in range(1, count + 1):
        dataset = copy.deepcopy(template)
        dataset.PatientID = patient_id
        dataset.StudyInstanceUID = study
        dataset.SeriesInstanceUID = series_uid
        dataset.SeriesDescription = description
        dataset.StudyDescription = f"Scanner {description}"
        dataset.SOPInstanceUID = generate_uid()
        dataset.InstanceNumber = number
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        buffer = io.BytesIO()
        dataset.save_as(buffer, enforce_file_format=True)
        files.append((dataset, buffer.getvalue()))
    return study, files


def upload(root, token, patient, body):
    return requests.post(f"{root}/api/v1/imaging/upload", params={"patient": patient}, data=body,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/dicom"})


@pytest.fixture(scope="module")
def team(hygie):
    hygie.auth
    mine = accounts.deployment(hygie.root, "img1")
    other = accounts.deployment(hygie.root, "img2")
    return {"physician": login(hygie.root, "dr.img1"), "patient_token": login(hygie.root, "patient.img1"),
            "stranger": login(hygie.root, "dr.img2"), "patient": mine["patient"]["patient"], "other": other["patient"]["patient"]}


@pytest.fixture(scope="module")
def studies(hygie, team):
    """Two studies of the patient, uploaded through the API; one of the other patient."""
    made = []
    for description, count in (("Thorax", 3), ("Abdomen", 2)):
        study, files = series(team["patient"], count, description)
        for _, body in files:
            response = upload(hygie.root, team["physician"], team["patient"], body)
            assert response.status_code == 201, response.text
        made.append(study)
    study, files = series("ANYTHING", 1, "Crâne")
    assert upload(hygie.root, team["stranger"], team["other"], files[0][1]).status_code == 201
    made.append(study)
    return made


def test_upload_is_refused_to_those_who_may_not_file_images(hygie, team):
    _, files = series(team["patient"], 1)
    refused = upload(hygie.root, team["stranger"], team["patient"], files[0][1])
    assert refused.status_code == 403 and refused.json()["failed"][0]["status"] == "0124"
    assert upload(hygie.root, team["patient_token"], team["patient"], files[0][1]).status_code == 403
    garbage = upload(hygie.root, team["physician"], team["patient"], b"not a dicom file at all")
    assert garbage.status_code == 422 and garbage.json()["failed"][0]["status"] == "C000"


def test_list_search_page_and_details(hygie, team, studies):
    listed = accounts.call(hygie.root, "GET", f"/api/v1/imaging/studies?patient={team['patient']}&limit=1", team["physician"]).json()
    assert len(listed["items"]) == 1 and listed["next_cursor"] == "1"
    rest = accounts.call(hygie.root, "GET", f"/api/v1/imaging/studies?patient={team['patient']}&limit=1&cursor=1", team["physician"]).json()
    assert {listed["items"][0]["uid"], rest["items"][0]["uid"]} == set(studies[:2])
    # The patient sees their own studies; the other hospital's physician sees none of them.
    own = accounts.call(hygie.root, "GET", "/api/v1/imaging/studies", team["patient_token"]).json()
    assert set(studies[:2]) <= {item["uid"] for item in own["items"]} and studies[2] not in {item["uid"] for item in own["items"]}
    theirs = accounts.call(hygie.root, "GET", f"/api/v1/imaging/studies?patient={team['patient']}", team["stranger"]).json()
    assert theirs["items"] == []
    details = accounts.call(hygie.root, "GET", f"/api/v1/imaging/studies/{studies[0]}", team["physician"])
    assert details.status_code == 200
    body = details.json()
    assert body["study"]["instanceCount"] == 3 and body["study"]["patient"] == team["patient"]
    assert [(s["description"], s["instanceCount"], s["modality"]) for s in body["series"]] == [("Thorax", 3, "CT")]
    assert accounts.call(hygie.root, "GET", f"/api/v1/imaging/studies/{studies[0]}", team["stranger"]).status_code == 404


def dicomweb(hygie, token, method, path, **kwargs):
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/dicom+json", **kwargs.pop("headers", {})}
    return requests.request(method, hygie.root + "/dicomweb" + path, headers=headers, **kwargs)


def test_a_viewer_session_opens_its_study_read_only(hygie, team, studies):
    opened = accounts.call(hygie.root, "POST", f"/api/v1/imaging/studies/{studies[0]}/viewer-url", team["patient_token"])
    assert opened.status_code == 201, opened.text
    link = opened.json()
    assert link["viewer"] == "built-in" and link["url"].startswith(hygie.root + "/viewer#study=" + studies[0])
    token = link["token"]
    # Searches see the one study, whatever they ask.
    found = dicomweb(hygie, token, "GET", "/studies")
    assert [item["0020000D"]["Value"][0] for item in found.json()] == [studies[0]]
    assert dicomweb(hygie, token, "GET", f"/studies/{studies[0]}/series").status_code == 200
    assert dicomweb(hygie, token, "GET", f"/studies/{studies[1]}/series").status_code == 404
    assert dicomweb(hygie, token, "DELETE", f"/studies/{studies[0]}").status_code == 403
    assert dicomweb(hygie, token, "POST", "/studies", data=b"", headers={"Content-Type": "multipart/related; type=\"application/dicom\""}).status_code == 403
    # Nobody opens a viewer on a study they may not see.
    assert accounts.call(hygie.root, "POST", f"/api/v1/imaging/studies/{studies[0]}/viewer-url", team["stranger"]).status_code == 404


def test_past_the_limit_the_oldest_viewer_session_closes(hygie, team, studies):
    tokens = [accounts.call(hygie.root, "POST", f"/api/v1/imaging/studies/{studies[1]}/viewer-url", team["physician"]).json()["token"]
              for _ in range(6)]
    assert dicomweb(hygie, tokens[0], "GET", f"/studies/{studies[1]}/series").status_code == 401
    for token in tokens[1:]:
        assert dicomweb(hygie, token, "GET", f"/studies/{studies[1]}/series").status_code == 200


def test_ohif_data_source(hygie, team):
    config = accounts.call(hygie.root, "GET", "/api/v1/imaging/ohif-config", team["physician"]).json()
    assert config["configuration"]["qidoRoot"] == hygie.root + "/dicomweb"
    assert config["configuration"]["wadoUriRoot"] == hygie.root + "/dicomweb/wado"
    assert config["namespace"].endswith("dataSourcesModule.dicomweb")


def test_anonymised_export_of_a_series_and_an_instance(hygie, team):
    study, files = series(team["patient"], 3, "Export")
    for dataset, body in files:
        dataset.PatientName = "Durand^Léa"
        dataset.InstitutionName = "CHU Hygie"
        dataset.add_new(0x00090010, "LO", "PRIVATE CREATOR")
        buffer = io.BytesIO()
        dataset.save_as(buffer, enforce_file_format=True)
        assert upload(hygie.root, team["physician"], team["patient"], buffer.getvalue()).status_code == 201
    first = files[0][0]
    archive = accounts.call(hygie.root, "GET", f"/api/v1/imaging/studies/{study}/series/{first.SeriesInstanceUID}/anonymized", team["physician"])
    assert archive.status_code == 200 and archive.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as bundle:
        exported = [pydicom.dcmread(io.BytesIO(bundle.read(name))) for name in bundle.namelist()]
    assert len(exported) == 3
    originals = {d.InstanceNumber: d for d, _ in files}
    for dataset in exported:
        original = originals[dataset.InstanceNumber]
        assert dataset.PatientName == "" and dataset.PatientID == "" and "InstitutionName" not in dataset
        assert not any(element.tag.is_private for element in dataset)
        assert dataset.PatientIdentityRemoved == "YES"
        assert dataset.SOPInstanceUID != original.SOPInstanceUID and dataset.SOPInstanceUID.startswith("2.25.")
        assert dataset.file_meta.MediaStorageSOPInstanceUID == dataset.SOPInstanceUID
        assert dataset.PixelData == original.PixelData
    # One export keeps the instances together: same replaced study and series.
    assert len({d.StudyInstanceUID for d in exported}) == 1 and len({d.SeriesInstanceUID for d in exported}) == 1
    assert exported[0].StudyInstanceUID != study
    one = accounts.call(hygie.root, "GET",
                        f"/api/v1/imaging/studies/{study}/series/{first.SeriesInstanceUID}/instances/{first.SOPInstanceUID}/anonymized", team["physician"])
    assert one.status_code == 200 and one.headers["Content-Type"] == "application/dicom"
    assert pydicom.dcmread(io.BytesIO(one.content)).PatientName == ""
    # Whoever may not see the images may not export them.
    assert accounts.call(hygie.root, "GET", f"/api/v1/imaging/studies/{study}/series/{first.SeriesInstanceUID}/anonymized",
                         team["stranger"]).status_code == 404


def test_delete_through_the_api(hygie, team):
    study, files = series(team["patient"], 2, "À supprimer")
    for _, body in files:
        assert upload(hygie.root, team["physician"], team["patient"], body).status_code == 201
    assert accounts.call(hygie.root, "DELETE", f"/api/v1/imaging/studies/{study}", team["patient_token"]).status_code == 403
    assert accounts.call(hygie.root, "DELETE", f"/api/v1/imaging/studies/{study}", team["physician"]).status_code == 204
    assert accounts.call(hygie.root, "GET", f"/api/v1/imaging/studies/{study}", team["physician"]).status_code == 404
    assert requests.get(f"{hygie.root}/fhir/ImagingStudy/{study}", headers={"Authorization": f"Bearer {team['physician']}"}).status_code in (404, 410)


def test_drop_a_series_on_the_page_and_scroll_it_in_the_viewer(hygie, team, browser, tmp_path):  # noqa: F811
    _, files = series(team["patient"], 5, "Selenium")
    paths = []
    for dataset, body in files:
        path = tmp_path / f"{dataset.InstanceNumber}.dcm"
        path.write_bytes(body)
        paths.append(str(path))
    browser.delete_all_cookies()
    sign_in(browser, hygie.root, "dr.img1", accounts.PASSWORD)
    WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.CLASS_NAME, "tiles")))
    browser.get(f"{hygie.root}/imaging?patient={team['patient']}")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Imagerie"
    browser.find_element(By.ID, "files").send_keys("\n".join(paths))
    WebDriverWait(browser, 30).until(lambda driver: "5 fichier(s) enregistré(s), 0 refusé(s)." in driver.find_element(By.ID, "upload-status").text)
    # The page reloads with the new study listed; open it.
    row = WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.XPATH, "//tr[td[contains(., 'Scanner Selenium')]]")))
    row.find_element(By.CLASS_NAME, "open-viewer").click()
    WebDriverWait(browser, 20).until(lambda driver: driver.find_element(By.ID, "viewer").get_attribute("data-ready") == "true")
    viewport = WebDriverWait(browser, 20).until(ready.presence_of_element_located((By.CSS_SELECTOR, ".viewport[data-total='5']")))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#series-list .series")) == 1
    canvas = viewport.find_element(By.TAG_NAME, "canvas")
    canvas.click()
    for _ in range(2):
        canvas.send_keys(Keys.ARROW_DOWN)
    WebDriverWait(browser, 10).until(lambda driver: viewport.get_attribute("data-index") == "3")
    # The frame is drawn: the canvas is not uniformly black.
    lit = browser.execute_script(
        "const c = arguments[0]; const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 40) n++; return n;", canvas)
    assert lit > 1000
    # 2×2 layout: four viewports.
    browser.find_element(By.CSS_SELECTOR, "[data-layout='2x2']").click()
    assert len(browser.find_elements(By.CSS_SELECTOR, ".viewport")) == 4
    browser.find_element(By.CSS_SELECTOR, "[data-layout='1x1']").click()
    os.makedirs(ARTEFACTS, exist_ok=True)
    browser.save_screenshot(os.path.join(ARTEFACTS, "imaging-viewer.png"))
