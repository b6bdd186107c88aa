"""Two `hygie serve` processes on one PostgreSQL database: concurrent If-Match updates of the
same resource, half sent to each process. Exactly one wins, and versions never repeat or skip.
Runs when the interoperability tests target PostgreSQL."""
import os
import shutil
import tempfile
import threading

import pytest
import requests

from conftest import Hygie, database_url

JSON = {"Content-Type": "application/fhir+json"}


@pytest.mark.skipif(not os.environ.get("HYGIE_INTEROP_DATABASE_URL"), reason="needs PostgreSQL")
def test_two_processes_sharing_postgresql_keep_versions_straight():
    url = database_url("twoservers")
    # Two nodes of one deployment: the same public URL (it is the tokens' issuer).
    public = "http://hygie.example"
    first = Hygie(tempfile.mkdtemp(prefix="hygie-a-"), database_url=url, demo=False, base_url=public).start()
    # The second process needs the same master key to read what the first wrote.
    second_dir = tempfile.mkdtemp(prefix="hygie-b-")
    shutil.copyfile(os.path.join(first.data_dir, "master.key"), os.path.join(second_dir, "master.key"))
    os.chmod(os.path.join(second_dir, "master.key"), 0o600)
    second = Hygie(second_dir, database_url=url, demo=False, base_url=public).start()
    try:
        JSON.update(first.auth)  # a token signed by one process is valid on the other
        created = requests.put(f"{first.base}/Patient/shared", headers=JSON,
                               json={"resourceType": "Patient", "id": "shared", "name": [{"family": "Partagé"}]})
        assert created.status_code == 201
        statuses = []

        def writer(number):
            base = (first if number % 2 == 0 else second).base
            response = requests.put(f"{base}/Patient/shared", headers={**JSON, "If-Match": 'W/"1"'},
                                    json={"resourceType": "Patient", "id": "shared", "name": [{"family": f"W{number}"}]})
            statuses.append(response.status_code)

        threads = [threading.Thread(target=writer, args=(number,)) for number in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200] + [412] * 11

        def free(number):
            base = (first if number % 2 == 0 else second).base
            response = requests.put(f"{base}/Patient/shared", headers=JSON,
                                    json={"resourceType": "Patient", "id": "shared", "name": [{"family": f"F{number}"}]})
            assert response.status_code == 200

        threads = [threading.Thread(target=free, args=(number,)) for number in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        history = requests.get(f"{second.base}/Patient/shared/_history?_count=100", headers=JSON).json()
        versions = [int(entry["resource"]["meta"]["versionId"]) for entry in history["entry"]]
        assert versions == list(range(22, 0, -1))
    finally:
        first.stop()
        second.stop()
