"""OAuth 2.0 / OpenID Connect / SMART against a running Hygie with standard client libraries:
authlib for the authorization code flow with PKCE, ID tokens checked against the JWKS, refresh
and client credentials; SMART's fhirclient for a patient-facing app with patient scopes."""
import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from fhirclient import client as smart_client
from fhirclient.models.observation import Observation

from accounts import browser_sign_in, call, deployment, register_client

CALLBACK = "http://127.0.0.1:9/callback"


@pytest.fixture(scope="module")
def world(hygie):
    hygie.auth  # the super admin has chosen its password (conftest.system_token)
    built = deployment(hygie.root, "oidc")
    patient = built["patient"]["patient"]
    observation = {"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                   "subject": {"reference": f"Patient/{patient}"}, "valueQuantity": {"value": 64, "unit": "/min"}}
    assert requests.post(f"{hygie.base}/Observation", json=observation, headers={**hygie.auth, "Content-Type": "application/fhir+json"}).status_code == 201
    built["web"] = register_client(hygie.root, built["root"], name="web app", grant_types=["authorization_code", "refresh_token"],
                                   redirect_uris=[CALLBACK], scope="openid fhirUser offline_access user/*.rs user/Observation.rs patient/*.rs launch/patient")
    built["smart"] = register_client(hygie.root, built["root"], name="smart app", grant_types=["authorization_code"], confidential=False,
                                     redirect_uris=[CALLBACK], scope="openid fhirUser launch/patient patient/*.rs")
    built["backend"] = register_client(hygie.root, built["root"], name="backend", grant_types=["client_credentials"], scope="system/*.rs")
    return built


def test_discovery_documents(hygie):
    oidc = requests.get(hygie.root + "/.well-known/openid-configuration").json()
    assert oidc["issuer"] == hygie.root
    assert "S256" in oidc["code_challenge_methods_supported"]
    for path in ("/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration"):
        smart = requests.get(hygie.root + path).json()
        assert smart["authorization_endpoint"] == hygie.root + "/oauth2/authorize"
        assert "permission-v2" in smart["capabilities"]


def test_authorization_code_with_pkce_id_token_userinfo_and_refresh(hygie, world):
    client = world["web"]
    oauth = OAuth2Session(client["client_id"], client["client_secret"], scope="openid fhirUser offline_access user/*.rs",
                          redirect_uri=CALLBACK, code_challenge_method="S256")
    verifier = generate_token(64)
    url, state = oauth.create_authorization_url(hygie.root + "/oauth2/authorize", code_verifier=verifier, nonce="nonce-42")
    callback = browser_sign_in(hygie.root, url, "dr.oidc")
    token = oauth.fetch_token(hygie.root + "/oauth2/token", authorization_response=callback, code_verifier=verifier)

    keys = JsonWebKey.import_key_set(requests.get(hygie.root + "/oauth2/jwks").json())
    claims = jwt.decode(token["id_token"], keys, claims_options={
        "iss": {"essential": True, "value": hygie.root}, "aud": {"essential": True, "value": client["client_id"]},
        "nonce": {"essential": True, "value": "nonce-42"}})
    claims.validate()
    assert claims["fhirUser"] == f"{hygie.root}/fhir/Practitioner/{world['physician']['practitioner']}"
    assert oauth.get(hygie.root + "/oauth2/userinfo").json()["sub"] == claims["sub"]

    patient = world["patient"]["patient"]
    observations = oauth.get(f"{hygie.base}/Observation", params={"subject": f"Patient/{patient}"}).json()
    assert observations["total"] >= 1

    # The code works once.
    replay = requests.post(hygie.root + "/oauth2/token", auth=(client["client_id"], client["client_secret"]),
                           data={"grant_type": "authorization_code", "code": dict(p.split("=") for p in callback.split("?")[1].split("&"))["code"],
                                 "redirect_uri": CALLBACK, "code_verifier": verifier})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    refreshed = oauth.refresh_token(hygie.root + "/oauth2/token")
    assert refreshed["access_token"] != token["access_token"]


def test_scopes_narrow_what_a_token_reads(hygie, world):
    client = world["web"]
    oauth = OAuth2Session(client["client_id"], client["client_secret"], scope="openid user/Observation.rs", redirect_uri=CALLBACK,
                          code_challenge_method="S256")
    verifier = generate_token(64)
    url, _ = oauth.create_authorization_url(hygie.root + "/oauth2/authorize", code_verifier=verifier)
    oauth.fetch_token(hygie.root + "/oauth2/token", authorization_response=browser_sign_in(hygie.root, url, "dr.oidc"), code_verifier=verifier)
    patient = world["patient"]["patient"]
    assert oauth.get(f"{hygie.base}/Patient/{patient}").status_code == 404
    assert oauth.get(f"{hygie.base}/Observation", params={"subject": f"Patient/{patient}"}).json()["total"] >= 1


def test_pkce_is_required(hygie, world):
    client = world["web"]
    answer = requests.get(hygie.root + "/oauth2/authorize", allow_redirects=False, params={
        "response_type": "code", "client_id": client["client_id"], "redirect_uri": CALLBACK, "scope": "openid", "state": "s"})
    assert answer.status_code == 302
    assert "error=invalid_request" in answer.headers["Location"] and "state=s" in answer.headers["Location"]
    unknown = requests.get(hygie.root + "/oauth2/authorize", allow_redirects=False, params={
        "response_type": "code", "client_id": client["client_id"], "redirect_uri": "http://evil.example/cb", "scope": "openid"})
    assert unknown.status_code == 400


def test_client_credentials(hygie, world):
    backend = world["backend"]
    oauth = OAuth2Session(backend["client_id"], backend["client_secret"])
    token = oauth.fetch_token(hygie.root + "/oauth2/token", grant_type="client_credentials", scope="system/*.rs")
    assert token["scope"] == "system/*.rs"
    assert oauth.get(f"{hygie.base}/Patient/{world['patient']['patient']}").status_code == 200
    created = oauth.post(f"{hygie.base}/Patient", json={"resourceType": "Patient", "name": [{"family": "Refus"}]}, headers={"Content-Type": "application/fhir+json"})
    assert created.status_code == 403, created.text


def test_smart_app_reads_the_patients_own_record(hygie, world):
    app = world["smart"]
    smart = smart_client.FHIRClient(settings={
        "app_id": app["client_id"], "api_base": hygie.base + "/", "redirect_uri": CALLBACK,
        "scope": "openid fhirUser launch/patient patient/*.rs"})
    callback = browser_sign_in(hygie.root, smart.authorize_url, world["patient_username"])
    smart.handle_callback(callback)
    patient = world["patient"]["patient"]
    assert smart.patient_id == patient
    observations = list(Observation.where({"subject": f"Patient/{patient}"}).perform_resources_iter(smart.server))
    assert observations and all(o.subject.reference == f"Patient/{patient}" for o in observations)
    # Nothing of anybody else, and nothing written.
    others = call(hygie.root, "GET", "/fhir/Patient", smart.server.auth.access_token).json()
    assert [entry["resource"]["id"] for entry in others.get("entry", [])] == [patient]
