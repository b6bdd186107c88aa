#!/usr/bin/env python3
"""The imaging workload against a running Hygie, shaped like the Orthanc measurement in
../shared/bench/orthanc (same generated data sets, same query shapes including OHIF's, same
clients: dicomweb-client, pynetdicom, dcmtk), with Hygie's access rules in force: a physician
linked to the bench patients stores and reads through DICOMweb, a technologist's service
account is the DIMSE peer. Prints figures and writes results.json with the row labels of the
Orthanc run, so that Benchmarks/imaging_compare.py can put them side by side.

    imaging.py ROOT_URL DIMSE_PORT DATA_DIR OUT_DIR

Loopback only. Every loop has a fixed count.
"""
import glob
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.sop_class import (CTImageStorage, StudyRootQueryRetrieveInformationModelFind,
                                  StudyRootQueryRetrieveInformationModelMove, Verification)

import storage_scp

ROOT, DIMSE_PORT, DATA, OUT = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
assert ROOT.startswith("http://127.0.0.1:"), "loopback only"
DICOMWEB = ROOT + "/dicomweb"
HYGIE_AE = "HYGIE"
PASSWORD = "Bench-password-2026"
REPEAT = int(os.environ.get("QIDO_N", "30"))
OHIF_FIELDS = "00081030,00080060,00080090,00100030"
JSON_ACCEPT = {"Accept": "application/dicom+json"}
SERVER_PID = os.environ.get("HYGIE_PID")

results = {"meta": {}, "ingest": [], "delete": [], "qido_small": [], "qido_large": [], "wado": [], "dimse": []}
http = requests.Session()


def say(*parts):
    print(*parts, flush=True)


def figures(samples):
    ordered = sorted(samples)
    p95 = ordered[max(0, min(len(ordered) - 1, round(0.95 * (len(ordered) - 1))))]
    return {"n": len(samples), "median_ms": round(statistics.median(samples), 2), "p95_ms": round(p95, 2),
            "min_ms": round(ordered[0], 2), "max_ms": round(ordered[-1], 2)}


def resident_mb():
    if not SERVER_PID:
        return None
    with open(f"/proc/{SERVER_PID}/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def files(name):
    return sorted(glob.glob(os.path.join(DATA, name, "*.dcm")))


# ---------------------------------------------------------------- deployment


def api(method, path, token=None, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.request(method, ROOT + path, headers=headers, **kwargs)
    assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text[:300]}"
    return response.json() if response.content else None


def sign_in_first_time(username, password="mediconnect"):
    token = api("POST", "/api/v1/auth/login", json={"username": username, "password": password})["access_token"]
    api("POST", "/api/v1/auth/password", token, json={"current_password": password, "new_password": PASSWORD})
    return api("POST", "/api/v1/auth/login", json={"username": username, "password": PASSWORD})["access_token"]


def deploy():
    """A hospital, a physician linked to every bench patient, a technologist whose account the
    DIMSE peers use; the bench patients carry the PatientIDs of the generated files."""
    root = sign_in_first_time("superadmin")
    client = api("POST", "/api/v1/admin/oauth-clients", root,
                 json={"name": "bench", "grant_types": ["client_credentials"], "scope": "system/*.*"})
    system = requests.post(ROOT + "/oauth2/token", data={"grant_type": "client_credentials", "client_id": client["client_id"],
                                                         "client_secret": client["client_secret"]}).json()["access_token"]
    hospital = api("POST", "/api/v1/admin/hospitals", root, json={"name": "Hôpital Bench"})["id"]
    api("POST", "/api/v1/admin/hospital-admins", root, json={"username": "admin.bench", "family": "Admin", "hospital": hospital})
    admin = sign_in_first_time("admin.bench")
    physician = api("POST", "/api/v1/staff", admin, json={"username": "dr.bench", "family": "Bench", "role": "physician"})
    api("POST", "/api/v1/staff", admin, json={"username": "tech.bench", "family": "Bench", "role": "radiotherapy-technologist"})
    sign_in_first_time("tech.bench")
    doctor = sign_in_first_time("dr.bench")
    identifiers = set()
    for name in ("stow_512", "cstore_512", "stow_64", "cstore_64", "many_64"):
        for path in files(name):
            identifiers.add(pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["PatientID"]).PatientID)
    identifiers = sorted(identifiers)
    for start in range(0, len(identifiers), 100):
        entries = []
        for index, value in enumerate(identifiers[start:start + 100]):
            reference = f"urn:uuid:00000000-0000-4000-8000-{start + index:012d}"
            entries.append({"fullUrl": reference, "resource": {
                "resourceType": "Patient", "identifier": [{"system": "urn:bench:pid", "value": value}], "name": [{"family": value}]},
                "request": {"method": "POST", "url": "Patient"}})
            entries.append({"resource": {
                "resourceType": "CareTeam", "status": "active", "subject": {"reference": reference},
                "participant": [{"member": {"reference": f"Practitioner/{physician['practitioner']}"}}]},
                "request": {"method": "POST", "url": "CareTeam"}})
        answer = requests.post(ROOT + "/fhir", json={"resourceType": "Bundle", "type": "transaction", "entry": entries},
                               headers={"Authorization": f"Bearer {system}", "Content-Type": "application/fhir+json"})
        assert answer.status_code == 200, answer.text[:500]
    say(f"deployment: {len(identifiers)} patients linked to dr.bench")
    return doctor


# ---------------------------------------------------------------- measurements


class Bench:
    def __init__(self, token):
        self.token = token
        self.auth = {"Authorization": f"Bearer {token}"}
        http.headers.update(self.auth)
        self.last_ingest = time.perf_counter()

    def client(self):
        return DICOMwebClient(url=DICOMWEB, headers=self.auth)

    def count(self):
        total = 0
        for study in http.get(DICOMWEB + "/studies", headers=JSON_ACCEPT, params={"limit": "1000"}).json() or []:
            total += int(study["00201208"]["Value"][0])
        return total

    def studies(self):
        response = http.get(DICOMWEB + "/studies", headers=JSON_ACCEPT, params={"limit": "1000", "includefield": "00201208"})
        return [] if response.status_code == 204 else response.json()

    def clear(self, label):
        studies = self.studies()
        instances = sum(int(study["00201208"]["Value"][0]) for study in studies)
        since = time.perf_counter() - self.last_ingest
        started = time.perf_counter()
        each = []
        for study in studies:
            one = time.perf_counter()
            response = http.delete(f"{DICOMWEB}/studies/{study['0020000D']['Value'][0]}")
            assert response.status_code == 204, response.text
            each.append((time.perf_counter() - one) * 1000)
        elapsed = time.perf_counter() - started
        if studies:
            results["delete"].append({"after": label, "studies": len(studies), "instances": instances, "seconds": round(elapsed, 3),
                                      "s_since_ingest": round(since, 1), "per_study": figures(each),
                                      "instances_per_s": round(instances / elapsed, 1)})
            say(f"  delete after {label}: {len(studies)} studies / {instances} instances in {elapsed:.2f}s")
        assert self.studies() == []

    def record(self, method, size, count, elapsed, extra=None):
        self.last_ingest = time.perf_counter()
        stored = self.count()
        row = {"method": method, "pixels": f"{size}x{size}", "instances": count, "seconds": round(elapsed, 3),
               "instances_per_s": round(count / elapsed, 1), "server_count": stored, "rss_mb": resident_mb(), **(extra or {})}
        results["ingest"].append(row)
        say(f"  {method:38s} {size:3d}px: {count} in {elapsed:6.2f}s = {count / elapsed:7.1f} inst/s (stored {stored}, rss {row['rss_mb']} MB)")
        assert stored == count, "not every instance was stored"

    def stow(self, datasets, batch, threads):
        local = threading.local()
        groups = [datasets[index:index + batch] for index in range(0, len(datasets), batch)]

        def send(group):
            if not hasattr(local, "client"):
                local.client = self.client()
            local.client.store_instances(datasets=group)

        started = time.perf_counter()
        if threads == 1:
            for group in groups:
                send(group)
        else:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(send, groups))
        return time.perf_counter() - started

    @staticmethod
    def store_pynetdicom(datasets):
        ae = AE(ae_title="BENCHSCU")
        ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
        started = time.perf_counter()
        association = ae.associate("127.0.0.1", DIMSE_PORT, ae_title=HYGIE_AE)
        assert association.is_established
        refused = sum(1 for dataset in datasets if association.send_c_store(dataset).Status != 0)
        association.release()
        assert refused == 0, f"{refused} C-STORE refusals"
        return time.perf_counter() - started

    @staticmethod
    def store_dcmtk(paths, processes):
        shares = [paths[index::processes] for index in range(processes)]
        started = time.perf_counter()
        # dcmtk's, by its path: pynetdicom installs a `storescu` of its own into the venv.
        running = [subprocess.Popen(["/usr/bin/storescu", "-aet", "BENCHSCU", "-aec", HYGIE_AE, "127.0.0.1", str(DIMSE_PORT), *share],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for share in shares]
        for process in running:
            _, errors = process.communicate(timeout=900)
            assert process.returncode == 0, errors.decode()[-2000:]
        return time.perf_counter() - started

    def ingest(self, size):
        stow_sets = [pydicom.dcmread(path) for path in files(f"stow_{size}")]
        store_paths = files(f"cstore_{size}")
        store_sets = [pydicom.dcmread(path) for path in store_paths]
        for batch, threads in ((1, 1), (50, 1), (50, 4)):
            label = f"STOW-RS dicomweb-client b={batch} t={threads}"
            self.record(label, size, len(stow_sets), self.stow(stow_sets, batch, threads), {"batch": batch, "threads": threads})
            self.clear(f"{label} {size}px")
        self.record("C-STORE pynetdicom 1 assoc", size, len(store_sets), self.store_pynetdicom(store_sets))
        self.clear(f"C-STORE pynetdicom {size}px")
        self.record("C-STORE dcmtk storescu 1 assoc", size, len(store_paths), self.store_dcmtk(store_paths, 1))
        self.clear(f"C-STORE storescu x1 {size}px")
        self.record("C-STORE dcmtk storescu 4 parallel", size, len(store_paths), self.store_dcmtk(store_paths, 4), {"threads": 4})
        self.clear(f"C-STORE storescu x4 {size}px")

    # ------------------------------------------------------------ reads

    @staticmethod
    def query_string(parameters):
        if not parameters:
            return ""
        return "?" + "&".join(f"{name}={quote(str(value), safe='*,-/:')}" for name, value in parameters.items())

    def timed(self, url, headers=None, repeat=REPEAT, parameters=None):
        url += self.query_string(parameters)
        http.get(url, headers=headers)  # warm-up
        samples, found, size, status = [], None, 0, None
        for _ in range(repeat):
            started = time.perf_counter()
            response = http.get(url, headers=headers)
            body = response.content
            samples.append((time.perf_counter() - started) * 1000)
            status, size = response.status_code, len(body)
            if response.headers.get("Content-Type", "").startswith(("application/dicom+json", "application/json")):
                found = len(response.json())
        return samples, found, size, status

    def qido(self, bucket, study, series):
        shapes = [
            ("PatientName wildcard", "/studies", {"PatientName": "BENCH*"}),
            ("PatientName *contains*", "/studies", {"PatientName": "*ALICE*"}),
            ("StudyDate range (6 months)", "/studies", {"StudyDate": "20240101-20240630"}),
            ("OHIF study list (no filter)", "/studies", {"limit": "101", "offset": "0", "fuzzymatching": "false", "includefield": OHIF_FIELDS}),
            ("OHIF study list + PatientName", "/studies",
             {"PatientName": "*BENCH*", "limit": "101", "offset": "0", "fuzzymatching": "false", "includefield": OHIF_FIELDS}),
            ("OHIF study list + date range", "/studies",
             {"StudyDate": "20240101-20240630", "limit": "101", "offset": "0", "fuzzymatching": "false", "includefield": OHIF_FIELDS}),
            ("ModalitiesInStudy=CT", "/studies", {"ModalitiesInStudy": "CT", "limit": "101"}),
            ("series in study (OHIF)", f"/studies/{study}/series", {"includefield": "0008103E,00080021"}),
            ("instances in series", f"/studies/{study}/series/{series}/instances", None),
        ]
        for name, path, parameters in shapes:
            samples, found, size, status = self.timed(DICOMWEB + path, JSON_ACCEPT, parameters=parameters)
            row = {"query": name, "path": path, "params": parameters, "results": found, "http": status, "bytes": size, **figures(samples)}
            results[bucket].append(row)
            say(f"  QIDO {name:32s} -> {found} results, median {row['median_ms']} ms, p95 {row['p95_ms']} ms (HTTP {status})")

    def add(self, name, samples, extra=None):
        row = {"op": name, **figures(samples), **(extra or {})}
        results["wado"].append(row)
        say(f"  {name:52s} median {row['median_ms']:8.2f} ms  p95 {row['p95_ms']:8.2f} ms  {extra or ''}")

    def wado(self, study, series, sops):
        series_url = f"{DICOMWEB}/studies/{study}/series/{series}"
        started = time.perf_counter()
        metadata = http.get(series_url + "/metadata", headers=JSON_ACCEPT).json()
        first = (time.perf_counter() - started) * 1000
        samples, _, size, status = self.timed(series_url + "/metadata", JSON_ACCEPT, repeat=10)
        self.add("WADO-RS series /metadata", samples, {"first_call_ms": round(first, 1), "instances": len(metadata), "bytes": size, "http": status})
        samples, found, size, status = self.timed(f"{DICOMWEB}/studies/{study}/metadata", JSON_ACCEPT, repeat=5)
        self.add("WADO-RS study /metadata", samples, {"instances": found, "bytes": size, "http": status})

        accept = {"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'}
        samples, _, size, status = self.timed(series_url, accept, repeat=3)
        median = statistics.median(samples) / 1000
        self.add("WADO-RS retrieve series (raw HTTP, multipart dicom)", samples,
                 {"instances": len(sops), "bytes": size, "MB_per_s": round(size / 1e6 / median, 1),
                  "instances_per_s": round(len(sops) / median, 1), "http": status})
        client = self.client()
        samples = []
        for _ in range(3):
            started = time.perf_counter()
            retrieved = client.retrieve_series(study, series)
            samples.append((time.perf_counter() - started) * 1000)
        assert len(retrieved) == len(sops)
        self.add("WADO-RS retrieve series (dicomweb-client, parsed)", samples,
                 {"instances": len(sops), "instances_per_s": round(len(sops) / (statistics.median(samples) / 1000), 1)})

        frame_accept = "multipart/related; type=application/octet-stream; transfer-syntax=*"
        urls = [f"{series_url}/instances/{sop}/frames/1" for sop in sops]
        for label, extra_headers in (("WADO-RS frames/1, sequential", {}),
                                     ("WADO-RS frames/1, sequential, Accept-Encoding: identity", {"Accept-Encoding": "identity"})):
            samples = []
            started = time.perf_counter()
            for url in urls:
                one = time.perf_counter()
                response = http.get(url, headers={"Accept": frame_accept, **extra_headers})
                response.raise_for_status()
                samples.append((time.perf_counter() - one) * 1000)
            elapsed = time.perf_counter() - started
            self.add(label, samples, {"frames": len(urls), "frames_per_s": round(len(urls) / elapsed, 1),
                                      "content_encoding": response.headers.get("Content-Encoding", "none")})
        local = threading.local()

        def fetch(url):
            if not hasattr(local, "session"):
                local.session = requests.Session()
                local.session.headers.update(self.auth)
            one = time.perf_counter()
            local.session.get(url, headers={"Accept": frame_accept}).raise_for_status()
            return (time.perf_counter() - one) * 1000

        started = time.perf_counter()
        with ThreadPoolExecutor(6) as pool:
            samples = list(pool.map(fetch, urls))
        self.add("WADO-RS frames/1, 6 concurrent (browser-like)", samples,
                 {"frames": len(urls), "frames_per_s": round(len(urls) / (time.perf_counter() - started), 1)})

        instance = f"{series_url}/instances/{sops[len(sops) // 2]}"
        samples, _, size, status = self.timed(instance + "/rendered", {"Accept": "image/jpeg"}, repeat=20)
        self.add("WADO-RS instance /rendered (jpeg)", samples, {"bytes": size, "http": status})
        samples, _, size, status = self.timed(instance + "/thumbnail", {"Accept": "image/jpeg"}, repeat=3)
        self.add("WADO-RS instance /thumbnail", samples, {"bytes": size, "http": status})
        wado_uri = {"requestType": "WADO", "studyUID": study, "seriesUID": series, "objectUID": sops[0], "contentType": "application/dicom"}
        samples, _, size, status = self.timed(DICOMWEB + "/wado", {"Accept": "*/*"}, repeat=30, parameters=wado_uri)
        self.add("WADO-URI instance (application/dicom)", samples, {"bytes": size, "http": status})
        samples, _, size, status = self.timed(DICOMWEB + "/wado", {"Accept": "*/*", "Accept-Encoding": "identity"}, repeat=30, parameters=wado_uri)
        self.add("WADO-URI instance (application/dicom), Accept-Encoding: identity", samples, {"bytes": size, "http": status})
        samples, _, size, status = self.timed(DICOMWEB + "/wado", None, repeat=20, parameters={**wado_uri, "contentType": "image/jpeg"})
        self.add("WADO-URI instance (image/jpeg)", samples, {"bytes": size, "http": status})

    def dimse(self, study, series, count):
        ae = AE(ae_title="BENCHSCU")
        for context in (Verification, StudyRootQueryRetrieveInformationModelFind, StudyRootQueryRetrieveInformationModelMove):
            ae.add_requested_context(context)
        samples = []
        for _ in range(20):
            started = time.perf_counter()
            association = ae.associate("127.0.0.1", DIMSE_PORT, ae_title=HYGIE_AE)
            assert association.send_c_echo().Status == 0
            association.release()
            samples.append((time.perf_counter() - started) * 1000)
        results["dimse"].append({"op": "C-ECHO (new association each)", **figures(samples)})
        say(f"  C-ECHO with association: median {statistics.median(samples):.2f} ms")

        query = pydicom.Dataset()
        query.QueryRetrieveLevel = "STUDY"
        query.PatientName = "BENCH*"
        for key in ("StudyInstanceUID", "StudyDate", "ModalitiesInStudy", "NumberOfStudyRelatedInstances"):
            setattr(query, key, "")
        association = ae.associate("127.0.0.1", DIMSE_PORT, ae_title=HYGIE_AE)
        samples, found = [], 0
        for _ in range(20):
            started = time.perf_counter()
            found = sum(1 for status, _ in association.send_c_find(query, StudyRootQueryRetrieveInformationModelFind)
                        if status and status.Status in (0xFF00, 0xFF01))
            samples.append((time.perf_counter() - started) * 1000)
        association.release()
        results["dimse"].append({"op": "C-FIND study PatientName=BENCH* (same assoc)", "results": found, **figures(samples)})
        say(f"  C-FIND study level: {found} results, median {statistics.median(samples):.2f} ms")

        server, received = storage_scp.start(11113)
        try:
            move = pydicom.Dataset()
            move.QueryRetrieveLevel = "SERIES"
            move.StudyInstanceUID = study
            move.SeriesInstanceUID = series
            samples = []
            for _ in range(3):
                received.clear()
                association = ae.associate("127.0.0.1", DIMSE_PORT, ae_title=HYGIE_AE)
                started = time.perf_counter()
                final = None
                for status, _ in association.send_c_move(move, "BENCHSCP", StudyRootQueryRetrieveInformationModelMove):
                    final = status
                samples.append((time.perf_counter() - started) * 1000)
                association.release()
                assert len(received) == count, (len(received), final)
            rate = count / (statistics.median(samples) / 1000)
            results["dimse"].append({"op": f"C-MOVE series ({count} inst) to local SCP", "instances_per_s": round(rate, 1), **figures(samples)})
            say(f"  C-MOVE series of {count}: median {statistics.median(samples):.1f} ms = {rate:.1f} inst/s")
        finally:
            server.shutdown()


def main():
    token = deploy()
    bench = Bench(token)
    results["meta"].update({"server": "Hygie", "cpus": os.cpu_count(), "time": time.strftime("%Y-%m-%d %H:%M:%S"),
                            "database": os.environ.get("HYGIE_BENCH_DATABASE", "sqlite")})
    say("== ingest (each run on an empty archive; deletion timed after each) ==")
    for size in (64, 512):
        bench.ingest(size)
    say("== load 1000 x 512x512 instances (10 studies) for query/retrieve ==")
    started = time.perf_counter()
    bench.stow([pydicom.dcmread(path) for path in files("stow_512")], 50, 1)
    bench.store_dcmtk(files("cstore_512"), 1)
    say(f"  loaded in {time.perf_counter() - started:.1f}s; {bench.count()} instances")
    head = pydicom.dcmread(files("stow_512")[0], stop_before_pixels=True)
    study, series = head.StudyInstanceUID, head.SeriesInstanceUID
    sops = [d.SOPInstanceUID for d in (pydicom.dcmread(path, stop_before_pixels=True) for path in files("stow_512")) if d.SeriesInstanceUID == series]
    say("== QIDO-RS, small archive ==")
    bench.qido("qido_small", study, series)
    say("== WADO-RS / WADO-URI ==")
    bench.wado(study, series, sops)
    say("== DIMSE C-ECHO / C-FIND / C-MOVE ==")
    bench.dimse(study, series, len(sops))
    many = files("many_64")
    say(f"== grow the archive with {len(many)} single-instance studies (storescu) ==")
    elapsed = bench.store_dcmtk(many, 1)
    results["ingest"].append({"method": "C-STORE dcmtk storescu 1 assoc (1-instance studies)", "pixels": "64x64", "instances": len(many),
                              "seconds": round(elapsed, 3), "instances_per_s": round(len(many) / elapsed, 1), "rss_mb": resident_mb()})
    say(f"  {len(many)} studies in {elapsed:.1f}s = {len(many) / elapsed:.1f} inst/s")
    say("== QIDO-RS, larger archive ==")
    bench.qido("qido_large", study, series)
    results["meta"]["final_rss_mb"] = resident_mb()
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "results.json"), "w") as handle:
        json.dump(results, handle, indent=1)
    say(f"wrote {os.path.join(OUT, 'results.json')}")


if __name__ == "__main__":
    main()
