"""Communication actions: email, SMS, Slack and signed webhooks."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import time
from typing import Any

import django
from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from automations import deadline, outbound
from automations import vault
from automations.actions.base import Action, ActionContext, ActionError, outputs
from automations.conf import app_settings
from automations.models import EmailTemplate
from automations.providers import get_provider
from automations.masking import MASK, mask_config
from automations.messaging.validation import SEND_WINDOW_SCHEMA, send_window_errors
from automations.templating import RenderError, render

ADDRESSES = {"oneOf": [{"type": "string", "minLength": 1}, {"type": "array", "items": {"type": "string"}}]}


def _described(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {**schema, "description": description}


def _window_errors(config: dict[str, Any]) -> list[dict[str, str]]:
    """What JSON Schema cannot say about a message's send window (``to`` after ``from``)."""
    return send_window_errors(config["send_window"], "config.send_window") if "send_window" in config else []


def _address_list(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [item.strip() for item in items if item and item.strip()]


class SendEmail(Action):
    key = "send_email"
    family = "communication"
    label = "Send email"
    description = "Send an email from a stored template or an inline subject and body."
    scenario_outcomes = {"succeeds": "Sent", "fails_temporarily": "Not sent for now: the mail server asks to try later",
                         "fails": "Refused by the mail server"}
    config_schema = {
        "type": "object",
        "required": ["to"],
        "properties": {
            "to": _described(ADDRESSES, "Recipients: one address, several separated by commas, or a template "
                                        "such as {{ customer.email }}."),
            "cc": _described(ADDRESSES, "Copy to these addresses."),
            "bcc": _described(ADDRESSES, "Blind copy to these addresses."),
            "from": {"type": "string", "description": "Sender (empty: your installation's sender address)."},
            "reply_to": {"type": "string", "description": "Where replies go."},
            "template": {"type": "string", "minLength": 1,
                         "description": "Key of a stored email template; or leave empty and write a subject and body."},
            "subject": {"type": "string", "minLength": 1, "description": "Subject line, when no template is chosen."},
            "body": {"type": "string", "description": "Plain-text body, when no template is chosen."},
            "html": {"type": "string", "description": "HTML body (optional), when no template is chosen."},
            "send_window": SEND_WINDOW_SCHEMA,
        },
        "additionalProperties": False,
    }
    channel = "email"
    literal_fields = ("template", "send_window")
    self_rendered_fields = ("subject", "body", "html")  # like a stored template's: rendered in compose()
    output_schema = outputs("to", "cc", "bcc", "subject", "message_id")

    def published_schema(self) -> dict[str, Any]:
        keys = list(EmailTemplate.objects.order_by("key").values_list("key", flat=True))
        inline = {"required": ["subject", "body"], "not": {"required": ["template"]}}
        stored = {"required": ["template"], "properties": {"template": {"enum": keys}},
                  "not": {"anyOf": [{"required": [field]} for field in ("subject", "body", "html")]}}
        return {**self.config_schema, "oneOf": [inline, stored] if keys else [inline]}

    def validate_config(self, config: dict[str, Any]) -> list[dict[str, str]]:
        return [*self._content_errors(config), *_window_errors(config)]

    def _content_errors(self, config: dict[str, Any]) -> list[dict[str, str]]:
        if "template" in config:
            if {"subject", "body", "html"} & set(config):
                return [{"field": "config.template", "message": "use either a template or subject/body, not both"}]
            if not EmailTemplate.objects.filter(key=config["template"]).exists():
                return [{"field": "config.template", "message": f"no email template with key {config['template']!r}"}]
            return []
        if "subject" not in config and "body" not in config:
            return [{"field": "config.template", "message": "choose an email template, or write a subject and a body"}]
        if "subject" not in config or "body" not in config:
            return [{"field": "config.subject" if "subject" not in config else "config.body",
                     "message": "is required when no template is given"}]
        return []

    def email_templates(self, config: dict[str, Any]) -> tuple[str, ...]:
        return (config["template"],) if isinstance(config.get("template"), str) and config["template"] else ()

    def templates(self, config: dict[str, Any]) -> dict[str, str]:
        found = super().templates(config)
        template = EmailTemplate.objects.filter(key=config.get("template")).first() if "template" in config else None
        if template is not None:
            found.update({f"email template {template.key}.{field}": getattr(template, field)
                          for field in ("subject", "body_text", "body_html") if getattr(template, field)})
        return found

    def compose(self, config: dict[str, Any], context: ActionContext) -> EmailMultiAlternatives:
        """The message ``run()`` sends: template rendered, recipients resolved, Message-ID set."""
        if "template" in config:
            template = EmailTemplate.objects.filter(key=config["template"]).first()
            if template is None:
                raise ActionError(f"email template {config['template']!r} no longer exists")
            sources = {"subject": template.subject, "body": template.body_text, "html": template.body_html}
        else:
            sources = {"subject": config["subject"], "body": config["body"], "html": config.get("html", "")}
        try:
            subject = " ".join(render(sources["subject"], context.variables).split())
            body = render(sources["body"], context.variables)
            html = render(sources["html"], context.variables, html=True) if sources["html"] else ""
        except RenderError as exc:
            raise ActionError(f"template {config.get('template', 'inline')!r}: {exc}") from exc
        to = _address_list(config["to"])
        if not to:
            raise ActionError("config.to rendered to no recipient")
        from_email = (config.get("from") or default_from())
        message = EmailMultiAlternatives(
            subject=subject, body=body, from_email=from_email, to=to,
            cc=_address_list(config.get("cc")), bcc=_address_list(config.get("bcc")),
            reply_to=_address_list(config.get("reply_to")),
            # A Message-ID derived from the idempotency key lets mail systems drop a resend.
            headers={"Message-ID": f"<{context.idempotency_key.replace(':', '.')}@automations>"},
        )
        if html:
            message.attach_alternative(html, "text/html")
        return message

    def run(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        message = self.compose(config, context)
        sent = send_within_deadline(message, float(app_settings.ACTION_TIMEOUT_SECONDS))
        if not sent:
            raise ActionError("the email backend accepted no message", retryable=True)
        return self._summary(message)

    def predict(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        message = self.compose(config, context)
        summary = self._summary(message)
        summary["body"] = message.body
        return summary

    @staticmethod
    def _summary(message: EmailMultiAlternatives) -> dict[str, Any]:
        return {"to": message.to, "cc": message.cc, "bcc": message.bcc, "subject": message.subject,
                "message_id": message.extra_headers["Message-ID"]}


def _mailer() -> Any:
    """A new connection of the host's default email backend (Django 6.1's ``mailers``, else
    ``get_connection``)."""
    if django.VERSION >= (6, 1):
        from django.core.mail import mailers  # only Django 6.1 has it

        return mailers.default
    from django.core.mail import get_connection  # deprecated in 6.1: imported only before it

    return get_connection()


def send_within_deadline(message: EmailMultiAlternatives, seconds: float) -> int:
    """Send ``message`` through a connection of its own, all of it (connecting, sending, saying
    goodbye) within ``seconds``, whatever the host's ``EMAIL_TIMEOUT`` and however slowly the server
    answers. A server that stalls after taking the message does not make it a failure (a retry
    would send it twice): closing is best effort."""
    connection = _mailer()
    if hasattr(connection, "timeout"):  # Django's SMTP backend: no single read may outlast the deadline
        connection.timeout = seconds if connection.timeout is None else min(float(connection.timeout), seconds)
    with deadline.Deadline(seconds) as total:
        total.watch_later(lambda: connection.connection.sock)
        try:
            connection.open()
            return connection.send_messages([message])
        except (OSError, TimeoutError) as exc:  # SMTP trouble: worth another try unless the server refused
            if total.expired:
                raise ActionError(f"could not send email: the server did not finish within {seconds:g}s",
                                  retryable=True) from exc
            raise ActionError(f"could not send email: {exc}", retryable=_may_pass(exc)) from exc
        finally:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 (the message is sent or has failed already; see above)
                pass


def _may_pass(exc: BaseException) -> bool:
    """Whether a failed send may succeed later: a connection that broke or timed out, or an SMTP
    reply in the 4xx range ("try again later"); a 5xx reply refuses the message for good."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    return True


def default_from() -> str:
    return app_settings.DEFAULT_FROM_EMAIL or settings.DEFAULT_FROM_EMAIL


class SendSMS(Action):
    key = "send_sms"
    family = "communication"
    label = "Send SMS"
    description = "Send a text message through the configured SMS provider."
    config_schema = {
        "type": "object",
        "required": ["to", "message"],
        "properties": {
            "to": {"type": "string", "minLength": 1, "description": "Phone number (E.164), such as {{ customer.phone }}."},
            "message": {"type": "string", "minLength": 1, "description": "Text of the message."},
            "send_window": SEND_WINDOW_SCHEMA,
        },
        "additionalProperties": False,
    }
    channel = "sms"
    literal_fields = ("send_window",)

    def validate_config(self, config: dict[str, Any]) -> list[dict[str, str]]:
        return _window_errors(config)
    output_schema = outputs("provider", "to", "status", "sid")

    def run(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        to = config["to"].strip()
        if not to:
            raise ActionError("config.to rendered to no phone number")
        provider = get_provider("SMS_PROVIDER")
        return provider.send(to, config["message"], idempotency_key=context.idempotency_key)

    def predict(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        return {"would_send_sms": {"to": config["to"], "message": config["message"]}}


class SendSlack(Action):
    key = "send_slack"
    family = "communication"
    label = "Post to Slack"
    description = "Post a message to a Slack channel through an incoming webhook."
    config_schema = {
        "type": "object",
        "required": ["text"],
        "properties": {
            "text": {"type": "string", "minLength": 1, "description": "Message text (Slack mrkdwn)."},
            "channel": {"type": "string", "description": "Channel override such as #collections (optional)."},
            "webhook_url": {"type": "string", "minLength": 1,
                            "description": "Incoming-webhook URL (default: AUTOMATIONS['SLACK_WEBHOOK_URL'])."},
            "send_window": SEND_WINDOW_SCHEMA,
        },
        "additionalProperties": False,
    }
    channel = "slack"
    literal_fields = ("send_window",)
    output_schema = outputs("status_code", "text", "channel")
    # An incoming-webhook URL is itself the credential.
    secret_fields = ("webhook_url",)

    def published_schema(self) -> dict[str, Any]:
        return self.config_schema if app_settings.SLACK_WEBHOOK_URL else {
            **self.config_schema, "required": [*self.config_schema["required"], "webhook_url"]}

    def validate_config(self, config: dict[str, Any]) -> list[dict[str, str]]:
        if not config.get("webhook_url") and not app_settings.SLACK_WEBHOOK_URL:
            return [{"field": "config.webhook_url",
                     "message": "is required when AUTOMATIONS['SLACK_WEBHOOK_URL'] is not set"}, *_window_errors(config)]
        return _window_errors(config)

    def _request(self, config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        url = config.get("webhook_url") or app_settings.SLACK_WEBHOOK_URL
        if not url:
            raise ActionError("no Slack webhook URL: set config.webhook_url or AUTOMATIONS['SLACK_WEBHOOK_URL']")
        payload = {"text": config["text"]}
        if config.get("channel"):
            payload["channel"] = config["channel"]
        return url, payload

    def run(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        url, payload = self._request(config)
        response = outbound.request("POST", url, json=payload, secret_path=True)
        return {"status_code": response.status_code, "text": payload["text"], "channel": payload.get("channel")}

    def predict(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        return {"would_post_to_slack": self._request(config)[1]}


def sign_webhook(secret: str, message_id: str, timestamp: int, payload: str) -> str:
    """The Standard Webhooks ``webhook-signature`` value: ``v1,`` + base64 HMAC-SHA256 of
    ``{id}.{timestamp}.{payload}`` keyed with the base64 part of a ``whsec_`` secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.{payload}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _timeout_limit() -> float:
    """The longest a request may wait: no longer than an action attempt may last."""
    return min(60, app_settings.ACTION_TIMEOUT_SECONDS)


class SendWebhook(Action):
    key = "send_webhook"
    family = "communication"
    label = "Call webhook"
    description = "Send an HTTP request with a JSON body, signed per the Standard Webhooks spec when a secret is set."
    config_schema = {
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "minLength": 1, "description": "Where the request goes."},
            "method": {"enum": ["POST", "PUT", "PATCH", "DELETE", "GET"], "description": "HTTP method (default POST)."},
            "headers": {"type": "object", "additionalProperties": {"type": "string"},
                        "description": "Extra request headers."},
            "body": {"description": "JSON body; the text inside it is rendered as templates."},
            "secret": {"type": "string", "anyOf": [{"pattern": "^whsec_[A-Za-z0-9+/=]+$"},
                                                   {"pattern": vault.REFERENCE_PATTERN}],
                       "description": "Standard Webhooks signing secret (whsec_..., or {{ secrets.NAME }}): "
                                      "the request is signed when set."},
            "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 60,
                        "description": "Seconds to wait for the answer (at most 60)."},
        },
        "additionalProperties": False,
    }
    output_schema = outputs("status_code", "webhook_id", "response")
    literal_fields = ("method", "secret", "timeout")
    secret_fields = ("secret",)

    def published_schema(self) -> dict[str, Any]:
        # a literal whsec_ secret, or a reference to a secret that exists
        references = [f"{{{{ secrets.{name} }}}}" for name in sorted(vault.defined_names())]
        secret = {"anyOf": [{"type": "string", "pattern": WHSEC_PATTERN},
                            *([{"enum": references}] if references else [])]}
        timeout = {**self.config_schema["properties"]["timeout"], "maximum": _timeout_limit()}
        return {**self.config_schema,
                "properties": {**self.config_schema["properties"], "secret": secret, "timeout": timeout}}

    def validate_config(self, config: dict[str, Any]) -> list[dict[str, str]]:
        limit = _timeout_limit()
        if config.get("timeout") and config["timeout"] > limit:
            return [{"field": "config.timeout",
                     "message": f"must be at most {limit:g} seconds (AUTOMATIONS['ACTION_TIMEOUT_SECONDS'])"}]
        secret = config.get("secret")
        if secret and not vault.is_reference(secret) and not _is_whsec(secret):
            return [{"field": "config.secret", "message": "must be whsec_ followed by base64"}]
        return []

    def _request(self, config: dict[str, Any], context: ActionContext, secret: str | None) -> dict[str, Any]:
        """The request, signed with ``secret`` (the resolved one: only when it is really sent)."""
        method = config.get("method", "POST")
        body = config.get("body")
        payload = json.dumps(body, separators=(",", ":"), sort_keys=True) if body is not None else ""
        headers = {"Content-Type": "application/json", **config.get("headers", {})}
        # The idempotency key is the webhook id: every retry of this step carries the same one.
        headers["webhook-id"] = context.idempotency_key
        if config.get("secret"):
            timestamp = int(time.time())  # wire time, not the engine's clock: receivers check it
            headers["webhook-timestamp"] = str(timestamp)
            headers["webhook-signature"] = (sign_webhook(secret, context.idempotency_key, timestamp, payload)
                                            if secret else "")
        return {"method": method, "url": config["url"], "headers": headers, "body": payload}

    def run(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        secret = vault.resolve(config["secret"]) if config.get("secret") else None
        if secret is not None and not _is_whsec(secret):
            raise ActionError("config.secret: the secret's value must be whsec_ followed by base64")
        request = self._request(config, context, secret)
        response = outbound.request(request["method"], request["url"], headers=request["headers"],
                                    data=request["body"].encode() if request["body"] else None,
                                    timeout=config.get("timeout"))
        try:
            answer: Any = response.json()
        except ValueError:
            answer = response.text[:1000]
        return {"status_code": response.status_code, "webhook_id": context.idempotency_key, "response": answer}

    def predict(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        # Test mode never resolves a secret: the signature is shown masked.
        request = mask_config(self._request(config, context, None))
        if request["headers"].get("webhook-signature") == "":
            request["headers"]["webhook-signature"] = MASK
        # What later steps read of a call that went through, as run() says it; the receiver's
        # answer cannot be known, so a 200 without a body is assumed.
        return {"would_call_webhook": request, "status_code": 200, "webhook_id": context.idempotency_key,
                "response": None, "assumed": "the receiver's answer cannot be known: assumed 200"}


    def scripted(self, outcome: str, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        """A failure a scenario chose is an HTTP answer of its kind, as ``run()`` raises it: ``fails``
        a 400 (refused for good), ``fails_temporarily`` a 503; later steps read its ``status_code``."""
        statuses = {"fails": 400, "fails_temporarily": 503}
        if outcome in statuses:
            raise ActionError(f"answered HTTP {statuses[outcome]} (as the test scenario says)",
                              retryable=outcome == "fails_temporarily", output={"status_code": statuses[outcome]})
        return super().scripted(outcome, config, context)


WHSEC_PATTERN = r"^whsec_(?=.)(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def _is_whsec(secret: str) -> bool:
    try:
        return secret.startswith("whsec_") and bool(base64.b64decode(secret.removeprefix("whsec_"), validate=True))
    except ValueError:
        return False
