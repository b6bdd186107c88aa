"""Starts a real `hygie serve` for the interoperability tests and records every JSON
resource it answers with, so that test_zz_validation.py can check them all with
fhir.resources.

Environment:
  HYGIE_BINARY                 the hygie executable (default .build/debug/hygie)
  HYGIE_INTEROP_DATABASE_URL   run against this PostgreSQL database instead of SQLite
"""
import os
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEST_PASSWORD = "Interop-secret-2026"
RECORDED = []  # (method, url, status, json) of every JSON response


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def record(response, *args, **kwargs):
    if "json" in response.headers.get("Content-Type", "") and response.content:
        try:
            RECORDED.append((response.request.method, response.url, response.status_code, response.json()))
        except ValueError:
            pass
    return response


def recording_session():
    session = requests.Session()
    session.hooks["response"].append(record)
    return session


class Hygie:
    """One `hygie serve` process on a data directory (restartable, killable)."""

    def __init__(self, data_dir, database_url=None, demo=True, base_url=None, env=None):
        self.binary = os.environ.get("HYGIE_BINARY", os.path.join(ROOT, ".build", "debug", "hygie"))
        self.data_dir = data_dir
        self.database_url = database_url
        self.demo = demo
        self.base_url = base_url
        self.extra_env = env or {}
        self.port = free_port()
        self.process = None
        self.log = open(os.path.join(data_dir, "server.log"), "ab")
        self._token = None

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}/fhir"

    @property
    def root(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth(self):
        """Authorization header of a backend client registered with system/*.*: the super
        admin signs in (choosing a password the first time), registers the client, and the
        client takes a token with the client credentials grant."""
        if self._token is None:
            self._token = system_token(self.root)
        return {"Authorization": f"Bearer {self._token}"}

    def start(self):
        env = dict(os.environ)
        env.update({
            "HYGIE_HOST": "127.0.0.1", "HYGIE_PORT": str(self.port), "HYGIE_DATA_DIR": self.data_dir,
            "HYGIE_LOG_LEVEL": "warning", "HYGIE_DEMO": "1" if self.demo else "0",
        })
        env.update(self.extra_env)
        if self.base_url:
            env["HYGIE_BASE_URL"] = self.base_url
        if self.database_url:
            env["HYGIE_DATABASE_URL"] = self.database_url
        else:
            env.pop("HYGIE_DATABASE_URL", None)
        self.process = subprocess.Popen([self.binary, "serve"], env=env, stdout=self.log, stderr=self.log)
        deadline = time.time() + 180
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"hygie exited with {self.process.returncode}; see {self.data_dir}/server.log")
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/health/ready", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("hygie did not become ready in time")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self):
        """SIGKILL: no graceful shutdown, no chance to flush anything."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


def system_token(root):
    session = requests.Session()
    signed_in = session.post(f"{root}/api/v1/auth/login", json={"username": "superadmin", "password": "mediconnect"})
    if signed_in.status_code == 200:
        token = signed_in.json()["access_token"]
        changed = session.post(f"{root}/api/v1/auth/password", headers={"Authorization": f"Bearer {token}"},
                               json={"current_password": "mediconnect", "new_password": TEST_PASSWORD})
        assert changed.status_code == 204, changed.text
    else:
        signed_in = session.post(f"{root}/api/v1/auth/login", json={"username": "superadmin", "password": TEST_PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()["access_token"]
    client = session.post(f"{root}/api/v1/admin/oauth-clients", headers={"Authorization": f"Bearer {token}"},
                          json={"name": "interop", "grant_types": ["client_credentials"], "scope": "system/*.*"})
    assert client.status_code == 201, client.text
    issued = session.post(f"{root}/oauth2/token", data={"grant_type": "client_credentials", "client_id": client.json()["client_id"],
                                                       "client_secret": client.json()["client_secret"]})
    assert issued.status_code == 200, issued.text
    return issued.json()["access_token"]


def database_url(name):
    """A fresh PostgreSQL database for `name` when running against PostgreSQL."""
    url = os.environ.get("HYGIE_INTEROP_DATABASE_URL")
    if not url:
        return None
    admin = url.rsplit("/", 1)[0] + "/postgres"
    import urllib.parse
    parsed = urllib.parse.urlparse(admin)
    database = f"{name}_{os.getpid()}"
    subprocess.run(["psql", "-h", parsed.hostname, "-p", str(parsed.port), "-U", parsed.username or "postgres", "-d", "postgres",
                    "-c", f"CREATE DATABASE {database}"], check=True, capture_output=True)
    return url.rsplit("/", 1)[0] + "/" + database


@pytest.fixture(scope="session")
def hygie():
    data_dir = tempfile.mkdtemp(prefix="hygie-interop-")
    server = Hygie(data_dir, database_url=database_url("interop")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def http(hygie):
    session = recording_session()
    session.headers.update({"Accept": "application/fhir+json", **hygie.auth})
    return session
