import os
import smtplib
from email.message import EmailMessage

import aiosmtplib

SMTP_HOST = os.environ.get("SMTP_HOST", "127.0.0.1")
SMTP_PORT = int(os.environ.get("SMTP_PORT", "8025"))


def build_message(to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "shop@example.com"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def send_email(to: str, subject: str, body: str) -> None:
    with smtplib.SMTP(SMTP_HOST, SMTP_PORT) as smtp:
        smtp.send_message(build_message(to, subject, body))


async def send_welcome_email(to: str) -> None:
    message = build_message(to, "Welcome to the shop", "Thanks for registering.")
    await aiosmtplib.send(message, hostname=SMTP_HOST, port=SMTP_PORT)
