"""Builds a small deployment through /api/v1, as an administrator would: a hospital, its
admin, a physician, a secretary and a patient linked to the physician, each account having
chosen its own password."""
import html
import re

import requests

from conftest import TEST_PASSWORD

PASSWORD = "Interop-account-2026"


def call(root, method, path, token=None, **kwargs):
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, root + path, headers=headers, **kwargs)


def first_sign_in(root, username):
    token = call(root, "POST", "/api/v1/auth/login", json={"username": username, "password": "mediconnect"}).json()["access_token"]
    changed = call(root, "POST", "/api/v1/auth/password", token, json={"current_password": "mediconnect", "new_password": PASSWORD})
    assert changed.status_code == 204, changed.text
    return token


def super_admin(root):
    signed_in = call(root, "POST", "/api/v1/auth/login", json={"username": "superadmin", "password": TEST_PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    return signed_in.json()["access_token"]


def created(response):
    assert response.status_code == 201, response.text
    return response.json()


def deployment(root, suffix):
    root_token = super_admin(root)
    hospital = created(call(root, "POST", "/api/v1/admin/hospitals", root_token, json={"name": f"Hôpital {suffix}"}))["id"]
    created(call(root, "POST", "/api/v1/admin/hospital-admins", root_token,
                 json={"username": f"admin.{suffix}", "family": "Admin", "hospital": hospital}))
    admin = first_sign_in(root, f"admin.{suffix}")
    physician = created(call(root, "POST", "/api/v1/staff", admin,
                             json={"username": f"dr.{suffix}", "family": "Martin", "given": "Claire", "role": "physician"}))
    created(call(root, "POST", "/api/v1/staff", admin, json={"username": f"sec.{suffix}", "family": "Petit", "role": "secretary"}))
    secretary = first_sign_in(root, f"sec.{suffix}")
    patient = created(call(root, "POST", "/api/v1/patients", secretary,
                           json={"username": f"patient.{suffix}", "family": "Durand", "given": "Léa", "email": f"lea.{suffix}@example.org",
                                 "physicians": [physician["practitioner"]]}))
    first_sign_in(root, f"patient.{suffix}")
    first_sign_in(root, f"dr.{suffix}")
    return {"root": root_token, "hospital": hospital, "admin": admin, "physician": physician, "patient": patient,
            "patient_username": f"patient.{suffix}"}


def register_client(root, token, **body):
    return created(call(root, "POST", "/api/v1/admin/oauth-clients", token, json=body))


def browser_sign_in(root, url, username, password=PASSWORD):
    """Follows an authorization URL as a browser would: to the sign-in page, signs in, and
    returns the redirect to the client's callback (not followed)."""
    browser = requests.Session()
    answer = browser.get(url, allow_redirects=False)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login"), answer.text
    page = browser.get(root + answer.headers["Location"])
    csrf = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)
    next_url = html.unescape(re.search(r'name="next" value="([^"]*)"', page.text).group(1))
    answer = browser.post(root + "/login", data={"_csrf": csrf, "next": next_url, "username": username, "password": password},
                          allow_redirects=False)
    assert answer.status_code == 302, answer.text
    answer = browser.get(root + answer.headers["Location"], allow_redirects=False)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]
