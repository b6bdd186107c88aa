"""Hygie on an S3-compatible object store (issue 5): moto's S3 server, started here with
request authentication on, checks every signature Hygie sends (a wrong one is answered 403);
boto3 reads the bucket to see what is really stored; botocore, the reference SigV4
implementation, recomputes the presigned download URLs Hygie hands out."""
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zipfile
from unittest import mock

import boto3
import botocore.auth
import pydicom
import pytest
import requests
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from dicomweb_client.api import DICOMwebClient

import accounts
from conftest import Hygie, database_url, free_port
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait
from test_imaging import login, series, upload
from test_web_pages import browser, sign_in  # noqa: F401 (the browser fixture)

BUCKET = "hygie-images"
LIFETIME = 120


@pytest.fixture(scope="module")
def moto():
    """moto's S3 server on loopback; after the seven set-up calls below (an operator and
    Hygie's user, their keys and policies, the bucket) every request must be signed with a
    user's key."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="moto-", suffix=".log", delete=False)
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="7", AWS_DEFAULT_REGION="us-east-1")
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env, stdout=log, stderr=log)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                requests.get(endpoint + "/moto-api/", timeout=1)
                break
            except requests.RequestException:
                if time.time() > deadline or process.poll() is not None:
                    raise RuntimeError(f"moto did not start; see {log.name}")
                time.sleep(0.2)
        setup = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
        iam = boto3.client("iam", **setup)
        iam.create_user(UserName="operator")
        operator = iam.create_access_key(UserName="operator")["AccessKey"]
        iam.put_user_policy(UserName="operator", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        iam.create_user(UserName="hygie")
        key = iam.create_access_key(UserName="hygie")["AccessKey"]
        iam.put_user_policy(UserName="hygie", PolicyName="objects", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        boto3.client("s3", **setup).create_bucket(Bucket=BUCKET)
        credentials = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **credentials)
        iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=operator["AccessKeyId"],
                           aws_secret_access_key=operator["SecretAccessKey"])
        yield {"endpoint": endpoint, "s3": s3, "iam": iam, **credentials}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def s3_env(moto, secret=None):
    return {"HYGIE_S3_ENDPOINT": moto["endpoint"], "HYGIE_S3_BUCKET": BUCKET, "HYGIE_S3_ACCESS_KEY": moto["aws_access_key_id"],
            "HYGIE_S3_SECRET_KEY": secret or moto["aws_secret_access_key"], "HYGIE_S3_DOWNLOAD_LIFETIME": str(LIFETIME)}


@pytest.fixture(scope="module")
def on_s3(moto):
    data_dir = tempfile.mkdtemp(prefix="hygie-s3-")
    server = Hygie(data_dir, database_url=database_url("s3"), demo=False, env=s3_env(moto)).start()
    server.auth
    team = accounts.deployment(server.root, "s3")
    yield server, login(server.root, "dr.s3"), team["patient"]["patient"]
    server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def objects(s3, prefix=""):
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def test_a_wrong_secret_stops_the_server_at_start_with_its_reason(moto):
    data_dir = tempfile.mkdtemp(prefix="hygie-s3-wrong-")
    server = Hygie(data_dir, demo=False, env=s3_env(moto, secret="not-the-secret"))
    with pytest.raises(RuntimeError, match="exited"):
        server.start()
    with open(os.path.join(data_dir, "server.log"), encoding="utf-8") as log:
        assert "The S3 credentials are refused for the bucket hygie-images" in log.read()
    shutil.rmtree(data_dir, ignore_errors=True)


def test_instances_are_stored_sealed_in_the_bucket_and_served_whole(on_s3, moto):
    server, physician, patient = on_s3
    study, files = series(patient, 2, "Thorax")
    for _, body in files:
        assert upload(server.root, physician, patient, body).status_code == 201
    dataset = files[0][0]
    stored = objects(moto["s3"], f"patients/{patient}/studies/{study}/")
    assert sorted(stored) == sorted(f"patients/{patient}/studies/{study}/series/{d.SeriesInstanceUID}/{d.SOPInstanceUID}.dcm" for d, _ in files)
    raw = moto["s3"].get_object(Bucket=BUCKET, Key=stored[0])["Body"].read()
    assert raw[:4] == b"HYB1" and b"DICM" not in raw and str(dataset.PatientName).encode() not in raw

    client = DICOMwebClient(url=server.root + "/dicomweb", headers={"Authorization": f"Bearer {physician}"})
    retrieved = client.retrieve_instance(study, dataset.SeriesInstanceUID, dataset.SOPInstanceUID)
    assert retrieved.PatientName == dataset.PatientName and retrieved.PixelData == dataset.PixelData


def presign_with_botocore(url, moto):
    """botocore's own presigned URL for the request `url` names, at the same time and lifetime."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    kept = [(name, values[0]) for name, values in query.items() if not name.startswith("X-Amz-")]
    request = AWSRequest(method="GET", url=urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(kept))))
    moment = time.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")
    import datetime
    fixed = datetime.datetime(*moment[:6])
    credentials = Credentials(moto["aws_access_key_id"], moto["aws_secret_access_key"])
    with mock.patch("botocore.auth.get_current_datetime", return_value=fixed):
        botocore.auth.S3SigV4QueryAuth(credentials, "s3", "us-east-1", expires=int(query["X-Amz-Expires"][0])).add_auth(request)
    return urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)["X-Amz-Signature"][0]


def test_download_links_are_presigned_urls_to_a_decrypted_copy(on_s3, moto):
    server, physician, patient = on_s3
    study, files = series(patient, 2, "Abdomen")
    for _, body in files:
        assert upload(server.root, physician, patient, body).status_code == 201
    dataset, body = files[1]
    path = f"/api/v1/imaging/studies/{study}/series/{dataset.SeriesInstanceUID}/instances/{dataset.SOPInstanceUID}/download-url"
    published = accounts.call(server.root, "POST", path, physician)
    assert published.status_code == 201, published.text
    link = published.json()
    assert link["filename"] == f"{dataset.SOPInstanceUID}.dcm" and link["instances"] == 1
    parts = urllib.parse.urlsplit(link["url"])
    query = urllib.parse.parse_qs(parts.query)
    assert link["url"].startswith(moto["endpoint"] + f"/{BUCKET}/downloads/")
    assert query["X-Amz-Expires"] == [str(LIFETIME)] and query["X-Amz-SignedHeaders"] == ["host"]
    assert query["response-content-disposition"] == [f'attachment; filename="{dataset.SOPInstanceUID}.dcm"']
    assert query["X-Amz-Signature"][0] == presign_with_botocore(link["url"], moto)

    # The object the URL names is the instance as uploaded, encrypted by the store itself.
    key = urllib.parse.unquote(parts.path).removeprefix(f"/{BUCKET}/")
    published_object = moto["s3"].get_object(Bucket=BUCKET, Key=key)
    assert published_object["ServerSideEncryption"] == "AES256"
    assert published_object["Body"].read() == body

    # A study comes as a ZIP of its instances.
    whole = accounts.call(server.root, "POST", f"/api/v1/imaging/studies/{study}/download-url", physician)
    assert whole.status_code == 201, whole.text
    key = urllib.parse.unquote(urllib.parse.urlsplit(whole.json()["url"]).path).removeprefix(f"/{BUCKET}/")
    archive = zipfile.ZipFile(io.BytesIO(moto["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read()))
    assert sorted(archive.namelist()) == sorted(f"{d.SeriesInstanceUID}/{d.SOPInstanceUID}.dcm" for d, _ in files)
    assert pydicom.dcmread(io.BytesIO(archive.read(f"{dataset.SeriesInstanceUID}/{dataset.SOPInstanceUID}.dcm"))).PatientID == patient

    # Nobody gets a link to images they may not see.
    stranger = accounts.deployment(server.root, "s3b")
    outsider = login(server.root, "dr.s3b")
    assert accounts.call(server.root, "POST", f"/api/v1/imaging/studies/{study}/download-url", outsider).status_code == 404
    assert stranger["patient"]["patient"] != patient
    assert accounts.call(server.root, "POST", f"/api/v1/imaging/studies/{study}/download-url").status_code == 401


def test_a_store_the_bucket_refuses_leaves_nothing_behind(on_s3, moto):
    server, physician, patient = on_s3
    moto["iam"].put_user_policy(UserName="hygie", PolicyName="objects", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}]}))
    try:
        study, files = series(patient, 1, "Refusé")
        refused = upload(server.root, physician, patient, files[0][1])
        assert refused.status_code == 422 and refused.json()["failed"][0]["status"] == "0110"
    finally:
        moto["iam"].put_user_policy(UserName="hygie", PolicyName="objects", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    assert objects(moto["s3"], f"patients/{patient}/studies/{study}/") == []
    found = accounts.call(server.root, "GET", "/dicomweb/studies", physician, params={"StudyInstanceUID": study})
    assert found.status_code in (200, 204) and (found.status_code == 204 or found.json() == [])
    # Once the bucket accepts again, the same file is stored.
    assert upload(server.root, physician, patient, files[0][1]).status_code == 201


def test_the_images_page_sends_the_physician_to_the_store(on_s3, moto, browser):
    server, physician, patient = on_s3
    study, files = series(patient, 1, "Genou")
    assert upload(server.root, physician, patient, files[0][1]).status_code == 201
    sign_in(browser, server.root, "dr.s3", accounts.PASSWORD)
    WebDriverWait(browser, 10).until(ready.presence_of_element_located((By.CLASS_NAME, "tiles")))
    browser.get(server.root + "/imaging")
    browser.find_element(By.CSS_SELECTOR, f"tr[data-study='{study}'] button.download").click()
    # The page's Content-Security-Policy lets the form lead to the store (form-action).
    WebDriverWait(browser, 10).until(ready.url_contains(f"/{BUCKET}/downloads/"))
    assert browser.current_url.startswith(moto["endpoint"]) and "X-Amz-Signature=" in browser.current_url
