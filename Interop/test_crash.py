"""Kill the server with SIGKILL during a stream of transactions; after a restart every
transaction that was answered 200 is there whole, and no transaction is there in part."""
import tempfile
import threading
import time
import uuid

import requests

from conftest import Hygie, database_url

OBSERVATIONS_PER_TRANSACTION = 4
SYSTEM = "urn:hygie:crash-test"


def transaction(marker):
    urn = f"urn:uuid:{uuid.uuid4()}"
    entries = [{"fullUrl": urn, "resource": {"resourceType": "Patient", "identifier": [{"system": SYSTEM, "value": marker}]},
                "request": {"method": "POST", "url": "Patient"}}]
    for index in range(OBSERVATIONS_PER_TRANSACTION):
        entries.append({"resource": {
            "resourceType": "Observation", "status": "final", "code": {"text": marker}, "subject": {"reference": urn},
            "valueQuantity": {"value": index, "unit": "1"}}, "request": {"method": "POST", "url": "Observation"}})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def test_answered_transactions_survive_sigkill_and_none_is_partial():
    server = Hygie(tempfile.mkdtemp(prefix="hygie-crash-"), database_url=database_url("crash"), demo=False).start()
    acknowledged, stop = [], threading.Event()

    auth = server.auth

    def writer(number):
        session = requests.Session()
        session.headers.update(auth)
        sequence = 0
        while not stop.is_set():
            marker = f"w{number}-{sequence}"
            sequence += 1
            try:
                response = session.post(server.base, json=transaction(marker), headers={"Content-Type": "application/fhir+json"}, timeout=10)
            except requests.RequestException:
                return
            if response.status_code == 200:
                acknowledged.append(marker)

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join()
    assert len(acknowledged) > 20, "too few transactions before the kill to mean anything"

    server.start()
    try:
        session = requests.Session()
        session.headers.update(auth)
        found = {}
        url = f"{server.base}/Patient?identifier={SYSTEM}|&_count=100&_revinclude=Observation:subject"
        while url:
            page = session.get(url).json()
            by_reference = {}
            for entry in page.get("entry", []):
                resource = entry["resource"]
                if resource["resourceType"] == "Patient":
                    found[f"Patient/{resource['id']}"] = {"marker": resource["identifier"][0]["value"], "observations": 0}
                elif resource["resourceType"] == "Observation":
                    by_reference[resource["subject"]["reference"]] = by_reference.get(resource["subject"]["reference"], 0) + 1
            for reference, count in by_reference.items():
                found[reference]["observations"] += count
            url = next((link["url"] for link in page.get("link", []) if link["relation"] == "next"), None)
        markers = {value["marker"] for value in found.values()}
        missing = [marker for marker in acknowledged if marker not in markers]
        assert not missing, f"acknowledged transactions lost after SIGKILL: {missing[:10]}"
        partial = [value for value in found.values() if value["observations"] != OBSERVATIONS_PER_TRANSACTION]
        assert not partial, f"partially written transactions: {partial[:10]}"
        orphans = session.get(f"{server.base}/Observation?subject:missing=true&_summary=count").json()["total"]
        assert orphans == 0
        # At most one transaction per writer was in flight when the process died.
        assert len(found) - len(acknowledged) <= len(threads)
    finally:
        server.stop()
