"""Every resource Hygie answered with during this run, checked by fhir.resources.

fhir.resources 8 models R4B (4.3.0), not R4 (4.0.1). Nothing Hygie returns in this suite hits
a difference between the two: the resources validate as they are. (The models reject unknown
elements, wrong JSON shapes and malformed primitives; they do not check code lists.)
"""
from fhir.resources.R4B import get_fhir_model_class

from conftest import RECORDED


def test_every_returned_resource_validates():
    assert len(RECORDED) > 50, "the other interoperability tests recorded too little"
    failures = []
    types = set()
    for method, url, status, body in RECORDED:
        resource_type = body.get("resourceType")
        types.add(resource_type)
        try:
            get_fhir_model_class(resource_type).model_validate(body)
        except Exception as error:  # noqa: BLE001 - every failure is reported below
            failures.append(f"{method} {url} ({status}) {resource_type}: {str(error)[:600]}")
    assert not failures, "\n".join(failures[:20])
    assert {"Bundle", "Patient", "OperationOutcome", "CapabilityStatement", "Observation"} <= types
