"""Drives the REST API the way clients do; every answer is recorded for validation."""
import uuid

JSON = {"Content-Type": "application/fhir+json"}


def test_metadata(hygie, http):
    statement = http.get(f"{hygie.base}/metadata").json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"


def test_demo_data_reads_and_searches(hygie, http):
    patients = http.get(f"{hygie.base}/Patient", params={"_count": 50}).json()
    assert patients["total"] >= 20
    patient_id = patients["entry"][0]["resource"]["id"]
    http.get(f"{hygie.base}/Patient/{patient_id}")
    http.get(f"{hygie.base}/Patient/{patient_id}/_history")
    everything = http.get(f"{hygie.base}/Patient/{patient_id}/$everything", params={"_count": 100}).json()
    assert everything["total"] > 3
    for query in [
        {"_count": 100},
        {"code": "http://loinc.org|8867-4", "_sort": "-date", "_include": "Observation:subject"},
        {"value-quantity": "gt60", "_summary": "true"},
        {"subject:Patient.birthdate": "lt1990", "_elements": "code,valueQuantity"},
        {"_revinclude": "Provenance:target", "_count": 5},
    ]:
        assert http.get(f"{hygie.base}/Observation", params=query).status_code == 200
    for resource_type in ["Condition", "Encounter", "Organization", "Practitioner"]:
        bundle = http.get(f"{hygie.base}/{resource_type}", params={"_count": 100}).json()
        assert bundle["total"] >= 1
    http.get(f"{hygie.base}/Encounter/_history", params={"_count": 50})
    http.get(f"{hygie.base}/_history", params={"_count": 50})


def test_writes_and_errors(hygie, http):
    created = http.post(f"{hygie.base}/Patient", headers=JSON, json={
        "resourceType": "Patient", "name": [{"family": "Écrit", "given": ["Zoë"]}], "birthDate": "1999-09-09",
    })
    assert created.status_code == 201
    patient = created.json()
    patient["gender"] = "female"
    updated = http.put(f"{hygie.base}/Patient/{patient['id']}", headers=JSON, json=patient)
    assert updated.status_code == 200 and updated.json()["meta"]["versionId"] == "2"
    patched = http.patch(f"{hygie.base}/Patient/{patient['id']}", headers={"Content-Type": "application/json-patch+json"},
                         json=[{"op": "add", "path": "/active", "value": True}])
    assert patched.status_code == 200
    assert http.post(f"{hygie.base}/Patient/$validate", headers=JSON, json={"resourceType": "Patient", "gender": "x"}).status_code == 200
    assert http.post(f"{hygie.base}/Patient", headers=JSON, json={"resourceType": "Patient", "birthDate": "x"}).status_code == 400
    assert http.get(f"{hygie.base}/Patient/no-such-id").status_code == 404
    assert http.get(f"{hygie.base}/Patient", headers={"Accept": "application/fhir+xml"}).status_code == 406
    assert http.delete(f"{hygie.base}/Patient/{patient['id']}").status_code == 200
    assert http.get(f"{hygie.base}/Patient/{patient['id']}").status_code == 410
    lenient = http.get(f"{hygie.base}/Patient", params={"shoe-size": "43"}).json()
    assert lenient["entry"][-1]["search"]["mode"] == "outcome"


def test_batch_and_transaction_answers(hygie, http):
    urn = f"urn:uuid:{uuid.uuid4()}"
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": urn, "resource": {"resourceType": "Patient", "name": [{"family": "Transaction"}]}, "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "poids"}, "subject": {"reference": urn},
                      "valueQuantity": {"value": 70.5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}},
         "request": {"method": "POST", "url": "Observation"}},
    ]}
    response = http.post(hygie.base, headers=JSON, json=transaction)
    assert response.status_code == 200
    batch = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Patient?family=transaction"}},
        {"request": {"method": "GET", "url": "Patient/does-not-exist"}},
    ]}
    answer = http.post(hygie.base, headers=JSON, json=batch).json()
    assert [e["response"]["status"] for e in answer["entry"]] == ["200 OK", "404 Not Found"]
