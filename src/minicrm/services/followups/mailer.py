"""Sending the digest by mail: SMTP when a server is configured, else the
local `sendmail`.

Settings come from the environment first (CRM_SMTP_HOST, CRM_SMTP_PORT,
CRM_SMTP_USER, CRM_SMTP_STARTTLS, CRM_MAIL_FROM), then from the database
(smtp_host, smtp_port, smtp_user, smtp_starttls, mail_from), so one cron
line can override what the team stored. The password is only ever read
from CRM_SMTP_PASSWORD: a database is shared and backed up, a secret in it
would travel with every copy.
"""

import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

from minicrm.errors import CrmError, ExitCode, UserError

SMTP_TIMEOUT_SECONDS = 30
SENDMAIL_TIMEOUT_SECONDS = 60
# cron's PATH is often just /usr/bin:/bin, and sendmail lives in sbin.
SENDMAIL_FALLBACKS = ("/usr/sbin/sendmail", "/usr/lib/sendmail")
IMPLICIT_TLS_PORT = 465
_YES, _NO = ("yes", "true", "1", "on"), ("no", "false", "0", "off")


class MailError(CrmError):
    """The mail could not be handed over: server down, login or recipient
    refused, sendmail missing or failing."""

    exit_code = ExitCode.RUNTIME


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None = None
    password: str | None = None
    starttls: bool = False

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class MailSettings:
    sender: str
    smtp: SmtpSettings | None  # None: use the local sendmail


def parse_recipients(text: str) -> list[str]:
    """`--mail-to` (one address, or several separated by commas), validated."""
    from email_validator import EmailNotValidError, validate_email

    addresses = [part.strip() for part in (text or "").split(",") if part.strip()]
    if not addresses:
        raise UserError("--mail-to needs an address, e.g. --mail-to me@shop.example")
    valid = []
    for address in addresses:
        try:
            valid.append(validate_email(address, check_deliverability=False).normalized)
        except EmailNotValidError as exc:
            raise UserError(f"invalid --mail-to address {address!r}: {exc}") from exc
    return valid


def mail_settings(session, environ: dict | None = None) -> MailSettings:
    """Where and as whom to send, from the environment and the database."""
    from minicrm.services.records.config import get_setting

    env = os.environ if environ is None else environ

    def pick(env_name: str, setting: str) -> str | None:
        value = (env.get(env_name) or "").strip()
        return value or (get_setting(session, setting) or "").strip() or None

    sender = pick("CRM_MAIL_FROM", "mail_from")
    if sender:
        sender = _checked_sender(sender)
    else:
        import socket

        sender = f"minicrm@{socket.gethostname() or 'localhost'}"
    host = pick("CRM_SMTP_HOST", "smtp_host")
    if host is None:
        return MailSettings(sender, None)
    user = pick("CRM_SMTP_USER", "smtp_user")
    password = env.get("CRM_SMTP_PASSWORD") or None
    if user and not password:
        raise UserError(
            f"the mail login {user!r} is set but CRM_SMTP_PASSWORD is not; "
            "the password is only read from that environment variable"
        )
    port_text = pick("CRM_SMTP_PORT", "smtp_port")
    tls_text = pick("CRM_SMTP_STARTTLS", "smtp_starttls")
    port = _port(port_text) if port_text else None
    # Unset STARTTLS means: on for the submission port, or when logging in
    # on the default port (a password should not cross the network in clear).
    starttls = _yes_no(tls_text) if tls_text else (port == 587 or (port is None and bool(user)))
    if port is None:
        port = 587 if starttls else 25
    return MailSettings(sender, SmtpSettings(host, port, user, password, starttls))


def _checked_sender(address: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise UserError(
            f"invalid sender address {address!r} (mail_from or CRM_MAIL_FROM): {exc}"
        ) from exc


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 65536:
        raise UserError(f"invalid SMTP port {text!r} (CRM_SMTP_PORT or smtp_port)")
    return int(text)


def _yes_no(text: str) -> bool:
    answer = text.lower()
    if answer not in _YES + _NO:
        raise UserError(f"CRM_SMTP_STARTTLS / smtp_starttls must be yes or no, got {text!r}")
    return answer in _YES


def build_message(
    subject: str, text: str, html: str, *, to: list[str], sender: str, now: datetime | None = None
) -> EmailMessage:
    """multipart/alternative: the plain text first, the HTML as the richer part."""
    from email import policy
    from email.utils import format_datetime, make_msgid

    # 7-bit transfer encodings keep non-Latin names intact through any relay.
    message = EmailMessage(policy=policy.default.clone(cte_type="7bit"))
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = format_datetime((now or datetime.now(UTC)).astimezone())
    # The sender's domain, not getfqdn(): that can stall on a DNS lookup.
    message["Message-ID"] = make_msgid("crm-remind", domain=sender.rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def send_digest(
    subject: str,
    text: str,
    html: str,
    *,
    to: list[str],
    sender: str,
    smtp: SmtpSettings | None,
    now: datetime | None = None,
) -> str:
    """Hand the mail over; returns how it went ('SMTP host:port' or the
    sendmail path) for the confirmation line. Raises MailError on failure."""
    message = build_message(subject, text, html, to=to, sender=sender, now=now)
    if smtp is not None:
        _send_smtp(message, smtp)
        return f"SMTP {smtp.where}"
    return _send_sendmail(message)


def _send_smtp(message: EmailMessage, smtp: SmtpSettings) -> None:
    import smtplib
    import ssl

    where = f"the mail server {smtp.where}"
    implicit_tls = smtp.port == IMPLICIT_TLS_PORT
    if smtp.user and not (implicit_tls or smtp.starttls or _is_loopback(smtp.host)):
        raise UserError(
            f"refusing to send the password to {smtp.where} unencrypted; "
            "set smtp_starttls yes (or CRM_SMTP_STARTTLS=yes) or use port 465"
        )
    try:
        if implicit_tls:
            context = ssl.create_default_context()
            client = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=SMTP_TIMEOUT_SECONDS, context=context
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=SMTP_TIMEOUT_SECONDS)
        with client:
            if smtp.starttls and not implicit_tls:
                client.starttls(context=ssl.create_default_context())
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            refused = client.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"{where} refused the login as {smtp.user}: {_reply(exc)}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError(f"{where} refused {_refusals(exc.recipients)}") from exc
    except smtplib.SMTPSenderRefused as exc:
        raise MailError(f"{where} refused the sender {exc.sender}: {_reply(exc)}") from exc
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"{where} did not take the mail: {_reply(exc)}") from exc
    except smtplib.SMTPException as exc:  # not supported, disconnected…
        raise MailError(f"{where} did not take the mail: {exc}") from exc
    except ssl.SSLError as exc:
        reason = getattr(exc, "verify_message", None) or exc.reason or str(exc)
        raise MailError(f"cannot talk TLS with {where}: {reason}") from exc
    except OSError as exc:  # refused, unreachable, unknown host, timeout
        reason = exc.strerror or str(exc) or exc.__class__.__name__
        raise MailError(f"cannot connect to {where}: {reason}") from exc
    if refused:  # some recipients taken, others not: still a failure to report
        raise MailError(f"{where} refused {_refusals(refused)}")


def _reply(exc) -> str:
    text = exc.smtp_error
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(f"{exc.smtp_code} {text}".split())


def _refusals(recipients: dict) -> str:
    said = []
    for address, (code, text) in recipients.items():
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        said.append(f"{address} ({code} {' '.join(str(text).split())})")
    return ("the recipient " if len(said) == 1 else "the recipients ") + ", ".join(said)


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def find_sendmail() -> str | None:
    found = shutil.which("sendmail")
    if found:
        return found
    return next((path for path in SENDMAIL_FALLBACKS if os.access(path, os.X_OK)), None)


def _send_sendmail(message: EmailMessage) -> str:
    program = find_sendmail()
    if program is None:
        raise MailError(
            "no mail server configured and no sendmail found on PATH; "
            "set CRM_SMTP_HOST (or `crm config set smtp_host HOST`) or install a sendmail"
        )
    try:
        # -t: recipients from the To header; -oi: a lone "." is not the end.
        done = subprocess.run(
            [program, "-t", "-oi"],
            input=message.as_bytes(),
            capture_output=True,
            timeout=SENDMAIL_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise MailError(f"{program} did not finish within {SENDMAIL_TIMEOUT_SECONDS}s") from exc
    except OSError as exc:
        raise MailError(f"cannot run {program}: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = f": {said[-1]}" if said else ""
        raise MailError(f"{program} failed with exit code {done.returncode}{detail}")
    return program
