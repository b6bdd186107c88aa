#!/usr/bin/env python3
"""Measures the appointment workflow against a running `hygie serve --demo-open` (see
Benchmarks/scheduling.sh): publishing a physician's availability, searching free slots,
requesting and validating appointments, and many patients racing for one slot. Prints
figures only; nothing is asserted."""
import concurrent.futures
import statistics
import sys
import time

import requests

root = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 40


def token(username, password="mediconnect"):
    answer = requests.post(root + "/api/v1/auth/login", json={"username": username, "password": password})
    answer.raise_for_status()
    return {"Authorization": "Bearer " + answer.json()["access_token"]}


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, (time.perf_counter() - start) * 1000


def report(name, samples):
    samples = sorted(samples)
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    print(f"{name:<44} n={len(samples):<4} median {statistics.median(samples):7.1f} ms   p95 {p95:7.1f} ms")


secretary = token("sec.lyon")
physician = token("dr.martin")
me = requests.get(root + "/api/v1/auth/me", headers=physician).json()
practitioner = me["practitioner"]
hours = {
    "appointment_types": [{"code": "consultation", "label": "Consultation", "minutes": 15}],
    "opening_hours": [{"weekday": d, "start": "08:00", "end": "12:00", "type": "consultation"} for d in range(1, 8)]
    + [{"weekday": d, "start": "13:00", "end": "19:00", "type": "consultation"} for d in range(1, 8)],
    "horizon_days": 60,
}
answer, first = timed(lambda: requests.put(f"{root}/api/v1/physicians/{practitioner}/availability", json=hours, headers=physician))
assert answer.status_code == 200, answer.text
published = answer.json()["published_slots"]
print(f"publish availability, first time: {published} slots in {first:.0f} ms")
hours["absences"] = [{"start": "2099-01-01", "end": "2099-01-02"}]
_, again = timed(lambda: requests.put(f"{root}/api/v1/physicians/{practitioner}/availability", json=hours, headers=physician))
print(f"publish again, nothing changed in the slots: {again:.0f} ms")

searches = []
for _ in range(rounds):
    _, elapsed = timed(lambda: requests.get(f"{root}/api/v1/availability?specialty=cardiology&limit=20", headers=secretary))
    searches.append(elapsed)
report("GET /availability (specialty, 20 slots)", searches)

patients = []
for index in range(rounds):
    created = requests.post(root + "/api/v1/patients", headers=secretary,
                            json={"username": f"bench.{index}.{int(time.time())}", "family": "Banc", "physicians": [practitioner]})
    created.raise_for_status()
    username = created.json()["username"]
    first = token(username)
    requests.post(root + "/api/v1/auth/password", headers=first,
                  json={"current_password": "mediconnect", "new_password": "Bench-password-2026"}).raise_for_status()
    patients.append(token(username, "Bench-password-2026"))
slots = requests.get(f"{root}/api/v1/availability?practitioner={practitioner}&limit=100", headers=secretary).json()["items"]
requests_ms, validations_ms = [], []
for index, patient in enumerate(patients):
    answer, elapsed = timed(lambda: requests.post(root + "/api/v1/appointments", headers=patient,
                                                  json={"practitioner": practitioner, "slot": slots[index]["id"], "reason": "Bilan"}))
    answer.raise_for_status()
    requests_ms.append(elapsed)
    appointment = answer.json()["id"]
    answer, elapsed = timed(lambda: requests.post(f"{root}/api/v1/appointments/{appointment}/validate", headers=secretary))
    answer.raise_for_status()
    validations_ms.append(elapsed)
report("POST /appointments (request on a slot)", requests_ms)
report("POST /appointments/{id}/validate", validations_ms)
_, queue = timed(lambda: requests.get(root + "/api/v1/appointments?status=booked&limit=100", headers=secretary))
print(f"secretary's list of {len(patients)}+ booked appointments: {queue:.0f} ms")

target = slots[len(patients)]["id"]
with concurrent.futures.ThreadPoolExecutor(max_workers=len(patients)) as pool:
    started = time.perf_counter()
    statuses = list(pool.map(lambda patient: requests.post(root + "/api/v1/appointments", headers=patient,
                                                           json={"practitioner": practitioner, "slot": target}).status_code, patients))
    elapsed = (time.perf_counter() - started) * 1000
print(f"{len(patients)} patients racing for one slot: {statuses.count(201)} booked, {statuses.count(409)} refused 409, "
      f"others {len(statuses) - statuses.count(201) - statuses.count(409)}, in {elapsed:.0f} ms")
