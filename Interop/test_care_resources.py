"""The resources Scheduling and Records write (issue 4), read back over /fhir from the demo
deployment and validated by fhir.resources (R4B models; see test_zz_validation)."""
import pytest
from fhir.resources.R4B import get_fhir_model_class

SEARCHES = [
    ("Schedule", "Schedule?_count=10"),
    ("Slot", "Slot?status=free&_count=20"),
    ("Slot", "Slot?status=busy,busy-tentative&_count=20"),
    ("Appointment", "Appointment?_count=50"),
    ("CareTeam", "CareTeam?status=active&_count=20"),
    ("Communication", "Communication?category=https://hygie.health/fhir/CodeSystem/communication-category|notification&_count=50"),
    ("Composition", "Composition?_count=20"),
    ("Encounter", "Encounter?class=AMB&_count=20"),
    ("AllergyIntolerance", "AllergyIntolerance?_count=20"),
    ("MedicationRequest", "MedicationRequest?_count=20"),
    ("Immunization", "Immunization?_count=20"),
    ("Condition", "Condition?code=http://hl7.org/fhir/sid/icd-10|I10,E11&_count=20"),
    ("Observation", "Observation?code=http://loinc.org|4548-4,13457-7&_count=20"),
]


@pytest.mark.parametrize("resource_type,query", SEARCHES)
def test_care_resources_validate(hygie, http, resource_type, query):
    answer = http.get(f"{hygie.base}/{query}")
    assert answer.status_code == 200, answer.text
    entries = answer.json().get("entry", [])
    assert entries, f"the demo deployment has no {query}"
    for entry in entries:
        resource = entry["resource"]
        assert resource["resourceType"] == resource_type
        get_fhir_model_class(resource_type).model_validate(resource)


def test_appointments_cover_every_demo_status(hygie, http):
    statuses = {entry["resource"]["status"] for entry in http.get(f"{hygie.base}/Appointment?_count=100").json()["entry"]}
    assert {"proposed", "booked", "cancelled", "fulfilled", "noshow"} <= statuses
