"""The radiotherapy pathway's exports (issue 6), judged by third-party tools: the case's PDF
passes `qpdf --check` and `pdftotext` reads its history back, accents included; the FHIR
export validates, resource by resource, with fhir.resources (whose R4B models are the
nearest it has to R4: nothing the export holds differs between them)."""
import re
import subprocess

import pytest
from fhir.resources.R4B.bundle import Bundle

import accounts


def staff(root, admin, username, role, **extra):
    body = {"username": username, "family": "Radiothérapie", "given": username.split(".")[0].capitalize(), "role": role, **extra}
    created = accounts.created(accounts.call(root, "POST", "/api/v1/staff", admin, json=body))
    return created["practitioner"], accounts.first_sign_in(root, username)


@pytest.fixture(scope="module")
def case(hygie):
    hygie.auth
    root = hygie.root
    base = accounts.deployment(root, "rt1")
    admin = base["admin"]
    _, technologist = staff(root, admin, "manip.rt1", "radiotherapy-technologist")
    _, physicist = staff(root, admin, "physicien.rt1", "medical-physicist")
    _, dosimetrist = staff(root, admin, "dosi.rt1", "dosimetrist")
    oncologist_id, oncologist = staff(root, admin, "onco.rt1", "physician", specialty="radiation-oncology")
    # The patient of the deployment is linked to its physician; link the oncologist too by a second patient.
    secretary = accounts.call(root, "POST", "/api/v1/auth/login", json={"username": "sec.rt1", "password": accounts.PASSWORD}).json()["access_token"]
    patient = accounts.created(accounts.call(root, "POST", "/api/v1/patients", secretary, json={
        "username": "helene.rt1", "family": "Lefèvre", "given": "Hélène", "physicians": [oncologist_id]}))["patient"]
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
