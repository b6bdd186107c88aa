"""SMART's fhirclient (R4 models) performs create, read, update, search with paging and a
transaction against Hygie, unchanged."""
import uuid

from fhirclient import client
from fhirclient.models.bundle import Bundle
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient

from conftest import record


def connect(hygie):
    smart = client.FHIRClient(settings={"app_id": "hygie-interop", "api_base": hygie.base + "/"})
    smart.server.session.hooks["response"].append(record)
    smart.server.session.headers.update(hygie.auth)
    return smart.server


def test_crud(hygie):
    server = connect(hygie)
    patient = Patient({"name": [{"family": "Fhirclient", "given": ["Élodie"]}], "gender": "female", "birthDate": "1985-02-03"})
    created = patient.create(server)
    read = Patient.read(created["id"], server)
    assert read.name[0].family == "Fhirclient"
    assert read.meta.versionId == "1"
    read.gender = "other"
    read.update(server)
    again = Patient.read(created["id"], server)
    assert again.gender == "other"
    assert again.meta.versionId == "2"
    assert again.birthDate.isostring == "1985-02-03"


def test_search_follows_every_page(hygie):
    server = connect(hygie)
    patient_id = Patient({"name": [{"family": "Pagination"}]}).create(server)["id"]
    for index in range(25):
        Observation({
            "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": f"Patient/{patient_id}"}, "effectiveDateTime": f"2024-01-{index + 1:02d}T10:00:00Z",
            "valueQuantity": {"value": 60 + index, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
        }).create(server)
    search = Observation.where({"subject": f"Patient/{patient_id}", "_count": "7", "_sort": "date"})
    bundles = list(search.perform_iter(server))
    assert len(bundles) == 4
    observations = [entry.resource for bundle in bundles for entry in (bundle.entry or [])]
    assert len(observations) == 25
    assert len({o.id for o in observations}) == 25
    assert [o.valueQuantity.value for o in observations] == list(range(60, 85))


def test_transaction(hygie):
    server = connect(hygie)
    urn = f"urn:uuid:{uuid.uuid4()}"
    bundle = Bundle({"type": "transaction", "entry": [
        {"fullUrl": urn, "resource": {"resourceType": "Patient", "name": [{"family": "Lot"}]}, "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "température"}, "subject": {"reference": urn},
                      "valueQuantity": {"value": 37.8, "unit": "Cel", "system": "http://unitsofmeasure.org", "code": "Cel"}},
         "request": {"method": "POST", "url": "Observation"}},
    ]})
    response = Bundle(server.post_json("", bundle.as_json()).json())
    assert response.type == "transaction-response"
    assert [entry.response.status for entry in response.entry] == ["201 Created", "201 Created"]
    patient_reference = response.entry[0].response.location.split("/_history")[0]
    observation_id = response.entry[1].response.location.split("/")[1]
    assert Observation.read(observation_id, server).subject.reference == patient_reference
