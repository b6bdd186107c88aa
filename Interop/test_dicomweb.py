"""DICOMweb (issue 5) judged by third-party clients: pydicom reads what Hygie serves and
dicomweb-client stores, searches and retrieves. Every DICOM test file pydicom ships goes
through the archive and back; access rules hold for physicians, patients and strangers."""
import copy
import glob
import io
import os
import time

import pydicom
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from PIL import Image
from pydicom.uid import generate_uid

import accounts

DATA = os.path.dirname(pydicom.data.__file__)
FILES = sorted(glob.glob(os.path.join(DATA, "test_files", "*.dcm")) + glob.glob(os.path.join(DATA, "charset_files", "*.dcm")))


def client(hygie, token):
    return DICOMwebClient(url=hygie.root + "/dicomweb", headers={"Authorization": f"Bearer {token}"})


def login(root, username):
    response = accounts.call(root, "POST", "/api/v1/auth/login", json={"username": username, "password": accounts.PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture(scope="module")
def people(hygie):
    hygie.auth  # the super admin chooses its password
    mine = accounts.deployment(hygie.root, "dicom1")
    other = accounts.deployment(hygie.root, "dicom2")
    return {
        "physician": login(hygie.root, "dr.dicom1"), "patient": login(hygie.root, "patient.dicom1"),
        "stranger": login(hygie.root, "dr.dicom2"), "patient_id": mine["patient"]["patient"],
        "other_patient_id": other["patient"]["patient"],
    }


def readable(path):
    try:
        dataset = pydicom.dcmread(path)
        dataset.PixelData if "PixelData" in dataset else None  # noqa: B018 - forces a full read
        return dataset if "SOPClassUID" in dataset and "StudyInstanceUID" in dataset and "SeriesInstanceUID" in dataset else None
    except Exception:
        return None


def filed(dataset, patient_id):
    """A copy of a test file filed under the patient, with fresh UIDs so that files sharing
    UIDs do not collide, in its original transfer syntax."""
    dataset.PatientID = patient_id
    dataset.StudyInstanceUID = generate_uid()
    dataset.SeriesInstanceUID = generate_uid()
    dataset.SOPInstanceUID = generate_uid()
    if "file_meta" in dir(dataset) and dataset.file_meta is not None:
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return pydicom.dcmread(io.BytesIO(buffer.getvalue()))


def simple_values(dataset):
    values = {}
    for element in dataset:
        if element.VR in ("SQ", "OB", "OW", "OF", "OD", "OL", "OV", "UN") or element.tag.is_private or element.tag.group == 0x7FE0:
            continue
        values[element.tag] = str(element.value)
    return values


@pytest.fixture(scope="module")
def stored(hygie, people):
    physician = client(hygie, people["physician"])
    originals = []
    for path in FILES:
        dataset = readable(path) if "truncated" not in path else None
        if dataset is None:
            continue
        try:
            originals.append((os.path.basename(path), filed(dataset, people["patient_id"])))
        except Exception:
            continue  # files pydicom reads but cannot write back (a bad VR kept from the source)
    for start in range(0, len(originals), 10):
        result = physician.store_instances([d for _, d in originals[start:start + 10]])
        assert "FailedSOPSequence" not in result, result
    return originals


def test_every_pydicom_file_round_trips_with_its_attributes_and_pixels(hygie, people, stored):
    physician = client(hygie, people["physician"])
    assert len(stored) >= 70
    for name, original in stored:
        served = physician.retrieve_instance(original.StudyInstanceUID, original.SeriesInstanceUID, original.SOPInstanceUID)
        assert served.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID, name
        assert simple_values(served) == simple_values(original), name
        if "PixelData" in original:
            assert served.PixelData == original.PixelData, name


def test_charset_files_decode_to_the_right_text(hygie, people, stored):
    physician = client(hygie, people["physician"])
    for name, original in stored:
        if not name.startswith("chr") or "PatientName" not in original:
            continue
        metadata = physician.retrieve_instance_metadata(original.StudyInstanceUID, original.SeriesInstanceUID, original.SOPInstanceUID)
        name_value = metadata["00100010"]["Value"][0]
        groups = [name_value.get(k, "") for k in ("Alphabetic", "Ideographic", "Phonetic")]
        while groups and not groups[-1]:
            groups.pop()
        assert "=".join(groups) == str(original.PatientName), name


def test_search_matches_wildcards_dates_uids_and_fuzzy_names(hygie, people, stored):
    physician = client(hygie, people["physician"])
    studies = physician.search_for_studies(search_filters={"PatientID": people["patient_id"]}, get_remaining=True)
    assert len(studies) == len(stored)
    name, mr = next((n, d) for n, d in stored if n == "MR_small.dcm")
    found = physician.search_for_studies(search_filters={"StudyInstanceUID": mr.StudyInstanceUID})
    assert [s["0020000D"]["Value"][0] for s in found] == [mr.StudyInstanceUID]
    family = str(mr.PatientName).split("^")[0]
    wildcard = physician.search_for_studies(search_filters={"PatientName": family[:3].lower() + "*", "StudyInstanceUID": mr.StudyInstanceUID})
    assert len(wildcard) == 1
    fuzzy = physician.search_for_studies(search_filters={"PatientName": family[:4].lower()}, fuzzymatching=True)
    assert mr.StudyInstanceUID in [s["0020000D"]["Value"][0] for s in fuzzy]
    if "StudyDate" in mr and mr.StudyDate:
        ranged = physician.search_for_studies(search_filters={"StudyDate": f"{mr.StudyDate}-", "StudyInstanceUID": mr.StudyInstanceUID})
        assert len(ranged) == 1
        before = physician.search_for_studies(search_filters={"StudyDate": f"-{int(mr.StudyDate) - 1}", "StudyInstanceUID": mr.StudyInstanceUID})
        assert before == []
    series = physician.search_for_series(mr.StudyInstanceUID)
    assert series[0]["0020000E"]["Value"][0] == mr.SeriesInstanceUID
    instances = physician.search_for_instances(mr.StudyInstanceUID, mr.SeriesInstanceUID, fields=["all"])
    assert instances[0]["00080018"]["Value"][0] == mr.SOPInstanceUID
    page = physician.search_for_studies(search_filters={"PatientID": people["patient_id"]}, limit=5, offset=5)
    assert len(page) == 5
    # OHIF's study list names series attributes at the study level: each study answers its instance's.
    listed = physician.search_for_studies(search_filters={"PatientID": people["patient_id"]}, fields=["00081030", "00080060"], get_remaining=True)
    answered = {s["0020000D"]["Value"][0]: s for s in listed}
    checked = 0
    for name, original in stored:
        if original.get("Modality"):
            assert answered[original.StudyInstanceUID]["00080060"].get("Value") == [original.Modality], name
            checked += 1
        if original.get("StudyDescription"):
            assert answered[original.StudyInstanceUID]["00081030"]["Value"] == [original.StudyDescription], name
    assert checked >= 50


def test_frames_rendered_and_wado_uri_serve_the_pixels(hygie, people, stored):
    physician = client(hygie, people["physician"])
    name, ct = next((n, d) for n, d in stored if n == "CT_small.dcm")
    frames = physician.retrieve_instance_frames(ct.StudyInstanceUID, ct.SeriesInstanceUID, ct.SOPInstanceUID, frame_numbers=[1])
    assert frames[0] == ct.PixelData
    headers = {"Authorization": f"Bearer {people['physician']}", "Accept": "image/png"}
    base = f"{hygie.root}/dicomweb/studies/{ct.StudyInstanceUID}/series/{ct.SeriesInstanceUID}/instances/{ct.SOPInstanceUID}"
    # Frames and whole files are streamed (chunked), never gathered and sent with a length.
    raw = requests.get(base + "/frames/1", headers={"Authorization": headers["Authorization"],
                                                   "Accept": "multipart/related; type=application/octet-stream; transfer-syntax=*"})
    assert raw.status_code == 200 and raw.headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in raw.headers
    assert ct.PixelData in raw.content
    rendered = requests.get(base + "/rendered?viewport=64,64", headers=headers)
    assert rendered.status_code == 200 and rendered.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(rendered.content)).size == (64, 64)
    # JPEG is the default rendered type, with the quality asked for.
    jpeg = requests.get(base + "/rendered?quality=80", headers={"Authorization": headers["Authorization"], "Accept": "image/jpeg"})
    assert jpeg.status_code == 200 and jpeg.headers["Content-Type"] == "image/jpeg"
    picture = Image.open(io.BytesIO(jpeg.content))
    assert picture.format == "JPEG" and picture.size == (ct.Columns, ct.Rows)
    small = requests.get(base + "/rendered?quality=5", headers={"Authorization": headers["Authorization"], "Accept": "image/jpeg"})
    assert len(small.content) < len(jpeg.content)
    assert requests.get(base + "/rendered?quality=0", headers={"Authorization": headers["Authorization"], "Accept": "image/jpeg"}).status_code == 400
    assert requests.get(base + "/rendered", headers={"Authorization": headers["Authorization"], "Accept": "image/gif"}).status_code == 406
    assert "Content-Encoding" not in requests.get(base, headers={"Authorization": headers["Authorization"], "Accept-Encoding": "gzip"}).headers
    uri = requests.get(f"{hygie.root}/dicomweb/wado", headers={"Authorization": headers["Authorization"]}, params={
        "requestType": "WADO", "studyUID": ct.StudyInstanceUID, "seriesUID": ct.SeriesInstanceUID, "objectUID": ct.SOPInstanceUID})
    assert uri.status_code == 200 and pydicom.dcmread(io.BytesIO(uri.content)).SOPInstanceUID == ct.SOPInstanceUID
    assert uri.headers.get("Transfer-Encoding") == "chunked"
    as_jpeg = requests.get(f"{hygie.root}/dicomweb/wado", headers={"Authorization": headers["Authorization"]}, params={
        "requestType": "WADO", "studyUID": ct.StudyInstanceUID, "seriesUID": ct.SeriesInstanceUID, "objectUID": ct.SOPInstanceUID,
        "contentType": "image/jpeg"})
    assert as_jpeg.status_code == 200 and Image.open(io.BytesIO(as_jpeg.content)).format == "JPEG"


def test_a_patient_sees_only_their_studies_read_only(hygie, people, stored):
    patient = client(hygie, people["patient"])
    assert len(patient.search_for_studies(get_remaining=True)) == len(stored)
    _, mr = stored[0]
    assert patient.retrieve_instance(mr.StudyInstanceUID, mr.SeriesInstanceUID, mr.SOPInstanceUID).SOPInstanceUID == mr.SOPInstanceUID
    refiled = filed(copy.deepcopy(mr), people["patient_id"])
    response = requests.post(f"{hygie.root}/dicomweb/studies", headers={
        "Authorization": f"Bearer {people['patient']}", "Content-Type": "multipart/related; type=\"application/dicom\"; boundary=b"},
        data=b"\r\n--b\r\nContent-Type: application/dicom\r\n\r\n" + dicom_bytes(refiled) + b"\r\n--b--\r\n")
    assert response.status_code == 409
    assert response.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0x0124]
    deleted = requests.delete(f"{hygie.root}/dicomweb/studies/{mr.StudyInstanceUID}", headers={"Authorization": f"Bearer {people['patient']}"})
    assert deleted.status_code == 403


def test_a_stranger_cannot_find_or_guess_a_study(hygie, people, stored):
    stranger = client(hygie, people["stranger"])
    _, mr = stored[0]
    assert stranger.search_for_studies(search_filters={"StudyInstanceUID": mr.StudyInstanceUID}) == []
    headers = {"Authorization": f"Bearer {people['stranger']}"}
    base = f"{hygie.root}/dicomweb/studies/{mr.StudyInstanceUID}"
    assert requests.get(base, headers=headers).status_code == 404
    assert requests.get(base + "/metadata", headers=headers).status_code == 404
    assert requests.get(f"{base}/series/{mr.SeriesInstanceUID}/instances/{mr.SOPInstanceUID}/rendered", headers=headers).status_code == 404
    assert requests.get(hygie.root + "/dicomweb/studies").status_code == 401
    # Nor may they file images under a patient they do not follow.
    refiled = filed(copy.deepcopy(mr), people["patient_id"])
    refused = requests.post(f"{hygie.root}/dicomweb/studies", headers={
        **headers, "Content-Type": "multipart/related; type=\"application/dicom\"; boundary=b"},
        data=b"\r\n--b\r\nContent-Type: application/dicom\r\n\r\n" + dicom_bytes(refiled) + b"\r\n--b--\r\n")
    assert refused.status_code == 409


def test_duplicates_bad_files_and_deletion(hygie, people, stored):
    physician = client(hygie, people["physician"])
    _, mr = stored[1]
    again = physician.store_instances([mr])
    assert "FailedSOPSequence" not in again
    changed = copy.deepcopy(mr)
    changed.StudyDescription = "changed"
    conflict = requests.post(f"{hygie.root}/dicomweb/studies", headers={
        "Authorization": f"Bearer {people['physician']}", "Content-Type": "multipart/related; type=\"application/dicom\"; boundary=b"},
        data=b"\r\n--b\r\nContent-Type: application/dicom\r\n\r\n" + dicom_bytes(changed) + b"\r\n--b--\r\n")
    assert conflict.status_code == 409 and conflict.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0x0111]
    for path in glob.glob(os.path.join(DATA, "test_files", "*truncated*.dcm")):
        with open(path, "rb") as handle:
            refused = requests.post(f"{hygie.root}/dicomweb/studies", headers={
                "Authorization": f"Bearer {people['physician']}", "Content-Type": "multipart/related; type=\"application/dicom\"; boundary=b"},
                data=b"\r\n--b\r\nContent-Type: application/dicom\r\n\r\n" + handle.read() + b"\r\n--b--\r\n")
        assert refused.status_code == 409 and "truncated" in refused.text, path
    truncated = dicom_bytes(mr)[:300]
    bad = requests.post(f"{hygie.root}/dicomweb/studies", headers={
        "Authorization": f"Bearer {people['physician']}", "Content-Type": "multipart/related; type=\"application/dicom\"; boundary=b"},
        data=b"\r\n--b\r\nContent-Type: application/dicom\r\n\r\n" + truncated + b"\r\n--b--\r\n")
    assert bad.status_code == 409 and bad.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0xC000]
    physician.delete_study(mr.StudyInstanceUID)
    assert physician.search_for_studies(search_filters={"StudyInstanceUID": mr.StudyInstanceUID}) == []
    fhir = requests.get(f"{hygie.root}/fhir/ImagingStudy/{mr.StudyInstanceUID}", headers={"Authorization": f"Bearer {people['physician']}"})
    assert fhir.status_code in (404, 410)


def test_imaging_study_is_kept_in_step(hygie, people, stored):
    _, mr = stored[2]
    study = requests.get(f"{hygie.root}/fhir/ImagingStudy/{mr.StudyInstanceUID}", headers={"Authorization": f"Bearer {people['physician']}"})
    assert study.status_code == 200, study.text
    body = study.json()
    assert body["subject"]["reference"] == f"Patient/{people['patient_id']}"
    assert body["numberOfInstances"] == 1 and body["series"][0]["uid"] == mr.SeriesInstanceUID
    # The STOW-RS request is audited once for the study, in the physician's name: the record is
    # owed by the index transaction and written shortly after.
    deadline = time.monotonic() + 20
    while True:
        audit = requests.get(f"{hygie.root}/fhir/AuditEvent", params={"entity": f"ImagingStudy/{mr.StudyInstanceUID}"}, headers=hygie.auth).json()
        transferred = [e["resource"] for e in audit.get("entry", []) if "110104" in str(e["resource"].get("type", ""))]
        if transferred or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(transferred) == 1, audit
    agent = transferred[0]["agent"][0]
    assert agent["role"][0]["coding"][0]["code"] == "physician" and transferred[0]["outcomeDesc"] == "1 instance(s) stored"
    assert {"reference": f"Patient/{people['patient_id']}"} in [entity["what"] for entity in transferred[0]["entity"]]


def dicom_bytes(dataset):
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
