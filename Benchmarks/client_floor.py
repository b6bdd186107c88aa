#!/usr/bin/env python3
"""The imaging benchmark's clients against peers that do no work: the fastest any archive
could be measured by these clients on this machine (their floor).

Each measurement repeats the client calls of ../shared/bench/orthanc/bench.py (and of
Benchmarks/imaging.py, which mirrors it) for the rows where the goal of issue 5 is in doubt,
against:
  - HTTP: `hygie-bench null-server`, which reads each request and answers with a prepared
    body of the size and type the real answer has (STOW-RS response, series list, multipart
    of 50 instances, one frame, a thumbnail, a Part 10 file);
  - DIMSE, storage: dcmtk `storescp --ignore` (receives, parses, writes nothing);
  - C-ECHO: dcmtk `storescp` answering the echo;
  - C-MOVE: the benchmark's own pynetdicom storage SCP, fed the same 50 instances by dcmtk
    `storescu` (process start and association included, as a move's sub-association is).
The host's speed moves a lot between runs seconds apart (a frame: 1.6 to 3.6 ms), so the
whole set runs ROUNDS times (default 3) and each row keeps its best round: a floor is what the
client can do, not what it does on average. With Orthanc's results, each row also shows the goal (1.5x Orthanc's throughput, half its
latency; the better of several Orthanc runs) and whether the floor leaves room for it.

    client_floor.py HYGIE_BENCH DATA_DIR OUT_JSON [ORTHANC_RESULTS_JSON ...]

HYGIE_BENCH is the hygie-bench binary; DATA_DIR holds the sets gen_data.py generated.
Loopback only; every peer started here is stopped by its PID.
"""
import glob
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient
from pynetdicom import AE
from pynetdicom.sop_class import Verification

import storage_scp

BENCH, DATA, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
ORTHANC = [json.load(open(path)) for path in sys.argv[4:]]
HOST = "127.0.0.1"
N = 30  # samples per latency row (the benchmark takes 3 to 30)
ROUNDS = int(os.environ.get("ROUNDS", "3"))
R = {"ingest": [], "qido_small": [], "wado": [], "dimse": []}
ENV = dict(os.environ, TCP_NODELAY="1")


def log(*parts):
    print(*parts, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for(port, process=None):
    for _ in range(200):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the peer for port {port} exited ({process.returncode})")
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


class Peer:
    """A process listening on loopback, stopped by its PID on exit."""

    def __init__(self, argv, port):
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
        self.port = port
        wait_for(port, self.process)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=10)


def null_http(body, content_type, chunk=None):
    port = free_port()
    path = os.path.join(os.path.dirname(OUT) or ".", f"floor-body-{port}")
    with open(path, "wb") as f:
        f.write(body)
    argv = [BENCH, "null-server", "--port", str(port), "--body", path, "--content-type", content_type]
    peer = Peer(argv + (["--chunk", str(chunk)] if chunk else []), port)
    os.unlink(path)  # the server has read it
    return peer


def files_of(name):
    return sorted(glob.glob(os.path.join(DATA, name, "*.dcm")))


def multipart(parts, part_type, boundary="floor-boundary-7f3a"):
    out = bytearray()
    for content_type, data in parts:
        out += f"--{boundary}\r\nContent-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f'multipart/related; type="{part_type}"; boundary={boundary}'


def median_get(session, url, headers, n=N):
    session.get(url, headers=headers).content  # warm-up, not counted
    ms = []
    for _ in range(n):
        t0 = time.perf_counter()
        session.get(url, headers=headers).content
        ms.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(ms), 2)


# ---------------------------------------------------------------- HTTP rows
def stow_rows():
    answer = json.dumps({"00081199": {"vr": "SQ", "Value": []}}).encode()
    for size in (64, 512):
        datasets = [pydicom.dcmread(f) for f in files_of(f"stow_{size}")]
        for batch, threads in ((1, 1), (50, 1), (50, 4)):
            with null_http(answer, "application/dicom+json") as peer:
                local = threading.local()

                def send(chunk):
                    if not hasattr(local, "client"):
                        local.client = DICOMwebClient(url=f"http://{HOST}:{peer.port}/dicomweb")
                    local.client.store_instances(datasets=chunk)

                chunks = [datasets[i:i + batch] for i in range(0, len(datasets), batch)]
                t0 = time.perf_counter()
                with ThreadPoolExecutor(threads) as pool:
                    list(pool.map(send, chunks))
                rate = round(len(datasets) / (time.perf_counter() - t0), 1)
            method = f"STOW-RS dicomweb-client b={batch} t={threads}"
            R["ingest"].append({"method": method, "pixels": f"{size}x{size}", "instances_per_s": rate})
            log(f"  {method} {size}x{size}: {rate} instances/s")


def series_of_first_study():
    """The first series of the benchmark's query/retrieve study and its instances' files."""
    files = files_of("stow_512")
    first = pydicom.dcmread(files[0], stop_before_pixels=True)
    mine = [f for f in files if pydicom.dcmread(f, stop_before_pixels=True).SeriesInstanceUID == first.SeriesInstanceUID]
    return first, mine, files


def wado_rows():
    first, series_files, all_files = series_of_first_study()
    session = requests.Session()

    # QIDO series in study: the series of the study with the attributes a series answer has.
    listed, seen = [], set()
    for path in all_files:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        if ds.StudyInstanceUID != first.StudyInstanceUID or ds.SeriesInstanceUID in seen:
            continue
        seen.add(ds.SeriesInstanceUID)
        entry = {key: value for key, value in ds.to_json_dict().items()
                 if key in ("00080005", "00080020", "00080021", "00080060", "0008103E", "0020000D", "0020000E", "00200011")}
        entry["00201209"] = {"vr": "IS", "Value": [len(series_files)]}
        entry["00081190"] = {"vr": "UR", "Value": [f"http://{HOST}/dicomweb/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"]}
        listed.append(entry)
    with null_http(json.dumps(listed).encode(), "application/dicom+json") as peer:
        ms = median_get(session, f"http://{HOST}:{peer.port}/dicomweb/studies/{first.StudyInstanceUID}/series?includefield=0008103E,00080021",
                        {"Accept": "application/dicom+json"})
    R["qido_small"].append({"query": "series in study (OHIF)", "median_ms": ms})
    log(f"  QIDO series in study: {ms} ms")

    # Whole series, raw and through dicomweb-client: the client reads a streamed (chunked)
    # answer faster than one sent with Content-Length, so both are tried.
    raw = [open(f, "rb").read() for f in series_files]
    body, content_type = multipart([("application/dicom; transfer-syntax=1.2.840.10008.1.2.1", b) for b in raw], "application/dicom")
    for chunk in (None, len(raw[0])):
        framing = f"chunks of {chunk} bytes" if chunk else "Content-Length"
        with null_http(body, content_type, chunk) as peer:
            url = f"http://{HOST}:{peer.port}/dicomweb/studies/{first.StudyInstanceUID}/series/{first.SeriesInstanceUID}"
            ms = median_get(session, url, {"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'}, n=5)
            rate = round(len(raw) / (ms / 1000), 1)
            R["wado"].append({"op": "WADO-RS retrieve series (raw HTTP, multipart dicom)", "instances_per_s": rate})
            log(f"  retrieve series, raw, {framing}: {rate} instances/s ({len(body) / 1e6:.1f} MB)")
            client = DICOMwebClient(url=f"http://{HOST}:{peer.port}/dicomweb")
            ms = []
            for _ in range(5):
                t0 = time.perf_counter()
                got = client.retrieve_series(first.StudyInstanceUID, first.SeriesInstanceUID)
                ms.append((time.perf_counter() - t0) * 1000)
            assert len(got) == len(raw)
            rate = round(len(raw) / (statistics.median(ms) / 1000), 1)
            R["wado"].append({"op": "WADO-RS retrieve series (dicomweb-client, parsed)", "instances_per_s": rate})
            log(f"  retrieve series, dicomweb-client, {framing}: {rate} instances/s")

    # One frame per request, without compression, as many requests as the series has instances.
    pixels = pydicom.dcmread(series_files[0]).PixelData
    body, content_type = multipart([("application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1", pixels)], "application/octet-stream")
    with null_http(body, content_type) as peer:
        url = f"http://{HOST}:{peer.port}/dicomweb/studies/{first.StudyInstanceUID}/series/{first.SeriesInstanceUID}/instances/x/frames/1"
        headers = {"Accept": "multipart/related; type=application/octet-stream; transfer-syntax=*", "Accept-Encoding": "identity"}
        session.get(url, headers=headers).content
        t0 = time.perf_counter()
        for _ in series_files:
            session.get(url, headers=headers).raise_for_status()
        rate = round(len(series_files) / (time.perf_counter() - t0), 1)
    R["wado"].append({"op": "WADO-RS frames/1, sequential, Accept-Encoding: identity", "frames_per_s": rate})
    log(f"  frames, identity: {rate} frames/s ({len(pixels)} bytes each)")

    # A thumbnail (the size of Hygie's JPEG) and a whole Part 10 file over WADO-URI.
    with null_http(os.urandom(3611), "image/jpeg") as peer:
        ms = median_get(session, f"http://{HOST}:{peer.port}/dicomweb/studies/s/series/s/instances/i/thumbnail", {"Accept": "image/jpeg"})
    R["wado"].append({"op": "WADO-RS instance /thumbnail", "median_ms": ms})
    log(f"  thumbnail: {ms} ms")
    with null_http(raw[0], "application/dicom") as peer:
        ms = median_get(session, f"http://{HOST}:{peer.port}/wado?requestType=WADO&contentType=application/dicom",
                        {"Accept": "*/*", "Accept-Encoding": "identity"})
    R["wado"].append({"op": "WADO-URI instance (application/dicom), Accept-Encoding: identity", "median_ms": ms})
    log(f"  WADO-URI, identity: {ms} ms ({len(raw[0])} bytes)")


# ---------------------------------------------------------------- DIMSE rows
def storescu(files, processes, port, called="FLOOR"):
    chunks = [files[i::processes] for i in range(processes)]
    t0 = time.perf_counter()
    running = [subprocess.Popen(["/usr/bin/storescu", "-aet", "BENCHSCU", "-aec", called, HOST, str(port)] + chunk,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV) for chunk in chunks]
    for process in running:
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err.decode()[-2000:]
    return time.perf_counter() - t0


def storage_rows():
    port = free_port()
    with Peer(["/usr/bin/storescp", "--ignore", str(port)], port):
        for size in (64, 512):
            files = files_of(f"cstore_{size}")
            for processes, label in ((1, "C-STORE dcmtk storescu 1 assoc"), (4, "C-STORE dcmtk storescu 4 parallel")):
                rate = round(len(files) / storescu(files, processes, port), 1)
                R["ingest"].append({"method": label, "pixels": f"{size}x{size}", "instances_per_s": rate})
                log(f"  {label} {size}x{size}: {rate} instances/s")
        files = files_of("many_64")
        rate = round(len(files) / storescu(files, 1, port), 1)
        R["ingest"].append({"method": "C-STORE dcmtk storescu 1 assoc (1-instance studies)", "pixels": "64x64", "instances_per_s": rate})
        log(f"  storescu 1-instance studies: {rate} instances/s")

        ae = AE(ae_title="BENCHSCU")
        ae.add_requested_context(Verification)
        ms = []
        for _ in range(20):
            t0 = time.perf_counter()
            association = ae.associate(HOST, port, ae_title="FLOOR")
            status = association.send_c_echo()
            association.release()
            ms.append((time.perf_counter() - t0) * 1000)
            assert status.Status == 0
        ms = round(statistics.median(ms), 2)
        R["dimse"].append({"op": "C-ECHO (new association each)", "median_ms": ms})
        log(f"  C-ECHO: {ms} ms")


def move_row():
    _, series_files, _ = series_of_first_study()
    port = free_port()
    server, received = storage_scp.start(port, HOST)
    try:
        seconds = []
        for _ in range(3):
            received.clear()
            seconds.append(storescu(series_files, 1, port, called="BENCHSCP"))
            assert len(received) == len(series_files)
    finally:
        server.shutdown()
    rate = round(len(series_files) / statistics.median(seconds), 1)
    op = f"C-MOVE series ({len(series_files)} inst) to local SCP"
    R["dimse"].append({"op": op, "instances_per_s": rate})
    log(f"  {op}: {rate} instances/s (storescu into the benchmark's pynetdicom SCP)")


# ---------------------------------------------------------------- report
def orthanc_best(section, key, name, pixels, field, higher):
    values = [row[field] for results in ORTHANC for row in results.get(section, [])
              if row.get(key) == name and row.get("pixels", "") == pixels and row.get(field) is not None]
    if not values:
        return None
    return max(values) if higher else min(values)


def report():
    log(f"\n| measurement | client floor (best of {ROUNDS}) | best Orthanc | goal | unit | goal within the floor |")
    log("|---|---|---|---|---|---|")
    for section, key in (("ingest", "method"), ("qido_small", "query"), ("wado", "op"), ("dimse", "op")):
        for row in R[section]:
            pixels = row.get("pixels", "")
            field = next(f for f in ("instances_per_s", "frames_per_s", "median_ms") if f in row)
            higher = field != "median_ms"
            unit = {"instances_per_s": "instances/s", "frames_per_s": "frames/s", "median_ms": "ms (median)"}[field]
            name = row[key] + (f" ({pixels})" if pixels else "")
            if section == "qido_small":
                name = "QIDO (10 studies) " + name
            best = orthanc_best(section, key, row[key], pixels, field, higher)
            if best is None:
                log(f"| {name} | {row[field]} | — | — | {unit} | — |")
                continue
            goal = round(best * 1.5, 1) if higher else round(best / 2, 2)
            room = row[field] >= goal if higher else row[field] <= goal
            log(f"| {name} | {row[field]} | {best} | {goal} | {unit} | {'yes' if room else 'no'} |")


def keep_best(rounds):
    """Per row, the best of its measurements (rounds, framings): highest throughput, lowest latency."""
    best = {}
    for section, key in (("ingest", "method"), ("qido_small", "query"), ("wado", "op"), ("dimse", "op")):
        rows = {}
        for measured in rounds:
            for row in measured[section]:
                name = (row[key], row.get("pixels", ""))
                field = next(f for f in ("instances_per_s", "frames_per_s", "median_ms") if f in row)
                better = max if field != "median_ms" else min
                if name not in rows:
                    rows[name] = dict(row, rounds=[row[field]])
                else:
                    rows[name]["rounds"].append(row[field])
                    rows[name][field] = better(rows[name][field], row[field])
        best[section] = list(rows.values())
    return best


def main():
    global R
    rounds = []
    for number in range(1, ROUNDS + 1):
        R = {"ingest": [], "qido_small": [], "wado": [], "dimse": []}
        log(f"== round {number} of {ROUNDS}: STOW-RS ==")
        stow_rows()
        log(f"== round {number} of {ROUNDS}: QIDO-RS, WADO-RS, WADO-URI ==")
        wado_rows()
        log(f"== round {number} of {ROUNDS}: DIMSE ==")
        storage_rows()
        move_row()
        rounds.append(R)
    R = keep_best(rounds)
    with open(OUT, "w") as f:
        json.dump(R, f, indent=1)
    report()
    log(f"\nresults: {OUT}")


if __name__ == "__main__":
    main()
