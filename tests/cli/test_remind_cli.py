"""`crm remind` end to end: printed formats, exit codes, and mail through a real
SMTP server (aiosmtpd) and through a fake `sendmail` on PATH."""

import json
import shutil
import socket
import ssl
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from minicrm.commands import app
from minicrm.commands import remind as remind_command
from minicrm.db import session_scope
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.followups.followups import add_followup

if not any(command.name == "remind" for command in app.registered_commands):
    remind_command.register(app)  # until commands/__init__.py registers it

MAIL_ENV = (
    "CRM_SMTP_HOST", "CRM_SMTP_PORT", "CRM_SMTP_USER", "CRM_SMTP_PASSWORD",
    "CRM_SMTP_STARTTLS", "CRM_MAIL_FROM",
)  # fmt: skip


@pytest.fixture(autouse=True)
def no_mail_settings_from_the_user(monkeypatch):
    for name in MAIL_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CRM_MAIL_FROM", "crm@shop.example")


def seed(engine, *, overdue: bool = True) -> None:
    """Maria has a follow-up 2 hours overdue (or 10 days ahead: nothing due)."""
    now = datetime.now(UTC)
    due = now - timedelta(hours=2) if overdue else now + timedelta(days=10)
    with session_scope(engine) as session:
        add_contact(
            session, ContactInput(
                name="Maria Lopez", phone="+34600123456", email="maria@x.example", owner="Ana"
            ),
        )  # fmt: skip
        add_followup(session, "maria", due, "call about the quote", now=now - timedelta(days=1))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

    def only_message(self):
        [envelope] = self.envelopes
        return envelope, message_from_bytes(envelope.content, policy=policy.default)


def start_server(monkeypatch, **options) -> Inbox:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    inbox.stop = controller.stop
    monkeypatch.setenv("CRM_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CRM_SMTP_PORT", str(port))
    return inbox


@pytest.fixture
def smtp_server(monkeypatch):
    inbox = start_server(monkeypatch)
    yield inbox
    inbox.stop()


# ------------------------------------------------------------ printed digest


def test_piped_digest_is_plain_text_with_phone_and_email(cli, engine):
    seed(engine)
    with session_scope(engine) as session:
        add_followup(session, "maria", datetime.now(UTC) - timedelta(days=3), "\x1b[31mred note")
    result = cli.ok("remind")
    assert "\x1b[" not in result.stdout
    assert "Maria Lopez — call about the quote  ☎ +34600123456  ✉ maria@x.example" in result.stdout
    assert "Owner: Ana\nOverdue (2)\n" in result.stdout
    assert result.stderr == ""


def test_json_format_has_the_documented_keys(cli, engine):
    seed(engine)
    data = json.loads(cli.ok("remind", "--format", "json").stdout)
    assert list(data) == ["generated_at", "overdue", "today", "upcoming", "due_to_get_in_touch"]
    [item] = data["overdue"]
    assert (item["contact_name"], item["overdue"], item["contact_phone"]) == (
        "Maria Lopez", True, "+34600123456",
    )  # fmt: skip
    assert cli.json("remind")["overdue"] == data["overdue"]  # --json is --format json


def test_exit_code_is_1_only_when_something_is_overdue(cli, engine):
    seed(engine, overdue=False)
    assert cli("remind", "--exit-code").exit_code == 0
    assert cli("remind", "--days", "30", "--exit-code").exit_code == 0  # upcoming is not overdue
    with session_scope(engine) as session:
        add_followup(session, "maria", datetime.now(UTC) - timedelta(minutes=5), "late")
    late = cli("remind", "--exit-code")
    assert late.exit_code == 1
    assert "late" in late.stdout  # printed first
    assert cli("remind").exit_code == 0


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--days", "-1"], "--days must be between 0 and 3660"),
        (["--days", "99999999"], "got 99999999"),
        (["--format", "pdf"], "unknown --format 'pdf'"),
        (["--json", "--format", "md"], "drop one of --json and --format md"),
        (["--mail-to", "not-an-address"], "invalid --mail-to address 'not-an-address'"),
        (["--mail-to", "me@shop.example", "--format", "html"], "--mail-to always sends"),
    ],
)
def test_bad_options_are_user_errors(cli, engine, args, fragment):
    seed(engine)
    before = cli.table_counts()
    cli.assert_user_error(cli("remind", "--only-new", *args), fragment)
    assert cli.table_counts() == before
    assert cli.count("reminder_ledger") == 0


def test_only_new_prints_each_item_once(cli, engine):
    seed(engine)
    assert "call about the quote" in cli.ok("remind", "--only-new").stdout
    assert cli.count("reminder_ledger") == 1
    assert "Nothing due." in cli.ok("remind", "--only-new").stdout
    assert "call about the quote" in cli.ok("remind").stdout


# ---------------------------------------------------------------------- SMTP


def assert_is_the_digest(message) -> None:
    assert message["From"] == "crm@shop.example"
    assert message["To"] == "me@shop.example"
    assert message["Subject"] == "Reminders: 1 overdue"
    sent_at = parsedate_to_datetime(message["Date"])
    assert abs(sent_at - datetime.now(UTC)) < timedelta(minutes=2)
    assert message["Message-ID"].endswith("@shop.example>")
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    line = "Maria Lopez — call about the quote  ☎ +34600123456  ✉ maria@x.example"
    assert line in text.get_content()
    assert '<a href="mailto:maria@x.example">maria@x.example</a>' in html.get_content()


def test_mail_goes_through_smtp_with_both_parts(cli, engine, smtp_server):
    seed(engine)
    result = cli.ok("remind", "--only-new", "--mail-to", "me@shop.example")
    assert result.stdout == ""
    assert result.stderr.startswith("crm: sent the digest (1 overdue) to me@shop.example via SMTP")
    envelope, message = smtp_server.only_message()
    assert (envelope.mail_from, envelope.rcpt_tos) == ("crm@shop.example", ["me@shop.example"])
    assert_is_the_digest(message)
    assert cli.count("reminder_ledger") == 1


def test_environment_overrides_the_stored_smtp_settings(cli, engine, smtp_server):
    seed(engine)
    cli.ok("config", "set", "smtp_host", "mail.invalid")
    cli.ok("config", "set", "mail_from", "stored@shop.example")
    cli.ok("remind", "--mail-to", "me@shop.example")
    assert_is_the_digest(smtp_server.only_message()[1])  # From: the CRM_MAIL_FROM env


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_uses_the_password_from_the_environment(cli, engine, monkeypatch):
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)

    inbox = start_server(
        monkeypatch, authenticator=authenticator, auth_required=True, auth_require_tls=False
    )
    try:
        seed(engine)
        monkeypatch.setenv("CRM_SMTP_USER", "ana")
        monkeypatch.setenv("CRM_SMTP_STARTTLS", "no")
        monkeypatch.setenv("CRM_SMTP_PASSWORD", "wrong")
        refused = cli("remind", "--only-new", "--mail-to", "me@shop.example")
        assert refused.exit_code == 1
        assert "refused the login as ana" in refused.stderr
        assert cli.count("reminder_ledger") == 0

        monkeypatch.setenv("CRM_SMTP_PASSWORD", "s3cret")
        cli.ok("remind", "--only-new", "--mail-to", "me@shop.example")
        assert logins[-1] == (b"ana", b"s3cret")
        assert_is_the_digest(inbox.only_message()[1])
        assert cli.count("reminder_ledger") == 1
    finally:
        inbox.stop()


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1, made with the openssl tool."""
    if shutil.which("openssl") is None:
        pytest.skip("optional tool missing: openssl")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


def test_starttls_is_used_and_the_certificate_checked(cli, engine, monkeypatch, certificate):
    cert, context = certificate
    inbox = start_server(monkeypatch, tls_context=context, require_starttls=True)
    try:
        seed(engine)
        monkeypatch.setenv("CRM_SMTP_STARTTLS", "yes")
        untrusted = cli("remind", "--mail-to", "me@shop.example")
        assert untrusted.exit_code == 1
        assert "cannot talk TLS with the mail server 127.0.0.1" in untrusted.stderr
        assert inbox.envelopes == []

        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust our own certificate
        cli.ok("remind", "--mail-to", "me@shop.example")
        assert_is_the_digest(inbox.only_message()[1])
    finally:
        inbox.stop()


def test_closed_smtp_port_is_exit_1_and_the_ledger_is_untouched(cli, engine, monkeypatch):
    seed(engine)
    port = free_port()  # nothing listens there
    monkeypatch.setenv("CRM_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CRM_SMTP_PORT", str(port))
    result = cli("remind", "--only-new", "--mail-to", "me@shop.example")
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"crm: error: cannot connect to the mail server 127.0.0.1:{port}")
    assert "refused" in line.lower()
    assert result.stdout == ""
    assert cli.count("reminder_ledger") == 0


def test_nothing_due_sends_no_mail(cli, engine, smtp_server):
    seed(engine, overdue=False)
    result = cli.ok("remind", "--mail-to", "me@shop.example")
    assert "nothing due; no mail sent" in result.stderr
    assert smtp_server.envelopes == []


# ------------------------------------------------------------------ sendmail


def fake_sendmail(tmp_path, monkeypatch, *, exit_status: int = 0):
    """A `sendmail` first on PATH that records its arguments and stdin."""
    folder = tmp_path / "bin"
    folder.mkdir()
    program = folder / "sendmail"
    program.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{tmp_path}/argv"\n'
        f'cat > "{tmp_path}/stdin"\n'
        f'[ {exit_status} -eq 0 ] || echo "sendmail: cannot reach the relay" >&2\n'
        f"exit {exit_status}\n"
    )
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")
    return program


def test_without_smtp_the_mail_goes_to_sendmail(cli, engine, tmp_path, monkeypatch):
    program = fake_sendmail(tmp_path, monkeypatch)
    seed(engine)
    result = cli.ok("remind", "--mail-to", "me@shop.example")
    assert result.stderr.strip().endswith(f"via {program}")
    assert (tmp_path / "argv").read_text().split() == ["-t", "-oi"]
    message = message_from_bytes((tmp_path / "stdin").read_bytes(), policy=policy.default)
    assert_is_the_digest(message)


def test_failing_sendmail_is_exit_1_with_its_reason(cli, engine, tmp_path, monkeypatch):
    program = fake_sendmail(tmp_path, monkeypatch, exit_status=1)
    seed(engine)
    result = cli("remind", "--only-new", "--mail-to", "me@shop.example")
    assert result.exit_code == 1
    assert result.stderr == (
        f"crm: error: {program} failed with exit code 1: sendmail: cannot reach the relay\n"
    )
    assert cli.count("reminder_ledger") == 0


def test_missing_sendmail_is_exit_1(cli, engine, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("minicrm.services.followups.mailer.SENDMAIL_FALLBACKS", ())
    seed(engine)
    result = cli("remind", "--mail-to", "me@shop.example")
    assert result.exit_code == 1
    assert "no sendmail found on PATH" in result.stderr
