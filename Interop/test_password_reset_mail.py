"""The forgotten-password mail goes through a real SMTP exchange: aiosmtpd receives what
Hygie's SMTP client sends, and the link in it resets the password once, in a browser-like
session on the web pages."""
import email
import email.policy
import html
import re
import tempfile
import time

import requests
from aiosmtpd.controller import Controller

from accounts import PASSWORD, call, deployment
from conftest import Hygie, database_url, free_port


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=email.policy.default)))
        return "250 OK"


def test_the_reset_link_arrives_by_smtp_and_works_once():
    inbox = Inbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    server = Hygie(tempfile.mkdtemp(prefix="hygie-mail-"), database_url=database_url("mail"), demo=False,
                   env={"HYGIE_SMTP_HOST": "127.0.0.1", "HYGIE_SMTP_PORT": str(port), "HYGIE_MAIL_FROM": "hygie@hopital.example"}).start()
    try:
        server.auth  # the super admin chooses its password
        built = deployment(server.root, "mail")
        browser = requests.Session()
        page = browser.get(server.root + "/forgot-password")
        csrf = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)
        sent = browser.post(server.root + "/forgot-password", data={"_csrf": csrf, "username": built["patient_username"]})
        assert sent.status_code == 200
        deadline = time.time() + 10
        while not inbox.messages and time.time() < deadline:
            time.sleep(0.1)
        sender, recipients, message = inbox.messages[0]
        assert sender == "hygie@hopital.example"
        assert recipients == ["lea.mail@example.org"]
        assert "mot de passe" in message["Subject"]
        link = re.search(r"(http://\S+/reset-password\?token=[A-Za-z0-9_-]+)", message.get_content()).group(1)

        form = browser.get(link)
        assert form.status_code == 200
        csrf = re.search(r'name="_csrf" value="([^"]+)"', form.text).group(1)
        token = html.unescape(re.search(r'name="token" value="([^"]+)"', form.text).group(1))
        done = browser.post(server.root + "/reset-password",
                            data={"_csrf": csrf, "token": token, "new_password": "Nouveau-par-mail-1", "confirm_password": "Nouveau-par-mail-1"})
        assert done.status_code == 200
        login = call(server.root, "POST", "/api/v1/auth/login", json={"username": built["patient_username"], "password": "Nouveau-par-mail-1"})
        assert login.status_code == 200
        assert call(server.root, "POST", "/api/v1/auth/login", json={"username": built["patient_username"], "password": PASSWORD}).status_code == 401
        assert browser.get(link).status_code == 400  # used once
    finally:
        server.stop()
        smtp.stop()
