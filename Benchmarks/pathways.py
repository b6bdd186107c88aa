"""Latency of the radiotherapy pages' API calls (issue 6) on the demonstration department: the
board (40 cases), a case page, the KPIs, the PDF and FHIR exports, the machines, a refused
move and a checklist tick. Prints median and 95th percentile over N calls each, sequential,
one client (what a person waits for), as the coordinator or the oncologist."""
import json
import statistics
import sys
import time
import urllib.request

root = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 50


def call(method, path, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(root + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def login(username):
    status, body = call("POST", "/api/v1/auth/login", body={"username": username, "password": "mediconnect"})
    assert status == 200, body
    return json.loads(body)["access_token"]


def measure(name, method, path, token, body=None, expect=200):
    times, size = [], 0
    for _ in range(rounds):
        start = time.perf_counter()
        status, answer = call(method, path, token, body)
        times.append((time.perf_counter() - start) * 1000)
        assert status == expect, (name, status, answer[:200])
        size = len(answer)
    times.sort()
    print(f"| {name} | {statistics.median(times):.1f} | {times[int(len(times) * 0.95) - 1]:.1f} | {size} |")


coordinator, oncologist = login("chef.nice"), login("dr.dubois")
status, body = call("GET", "/api/v1/pathways/cases", coordinator)
cards = json.loads(body)["items"]
closed = next(card["id"] for card in cards if card["stage"] == "closed")
waiting = next(card["id"] for card in cards if card["stage"] == "to-prepare")
print(f"{len(cards)} cases, {rounds} calls each\n")
print("| call | median ms | p95 ms | bytes |\n|---|---|---|---|")
measure("board (GET /pathways/cases)", "GET", "/api/v1/pathways/cases", coordinator)
measure("case page (GET /pathways/cases/{id}, every signature verified)", "GET", f"/api/v1/pathways/cases/{closed}", coordinator)
measure("KPIs", "GET", "/api/v1/pathways/kpis", coordinator)
measure("PDF export", "GET", f"/api/v1/pathways/cases/{closed}/export.pdf", coordinator)
measure("FHIR export", "GET", f"/api/v1/pathways/cases/{closed}/fhir", coordinator)
measure("machines with today's QA", "GET", "/api/v1/pathways/machines", coordinator)
measure("refused move (checklist incomplete)", "POST", f"/api/v1/pathways/cases/{waiting}/transition", oncologist,
        {"to": "prescription-validated"}, expect=409)
measure("checklist tick (new QuestionnaireResponse version)", "PUT", f"/api/v1/pathways/cases/{waiting}/checklists/to-prepare", coordinator,
        {"items": {"consent-recorded": True}})
