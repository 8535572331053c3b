"""Communication actions: email (more channels join this module)."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from automations.actions.base import Action, ActionContext, ActionError
from automations.templating import RenderError, render

ADDRESSES = {"oneOf": [{"type": "string", "minLength": 1}, {"type": "array", "items": {"type": "string"}}]}


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
    config_schema = {
        "type": "object",
        "required": ["to"],
        "properties": {
            "to": ADDRESSES,
            "cc": ADDRESSES,
            "bcc": ADDRESSES,
            "from": {"type": "string"},
            "reply_to": {"type": "string"},
            "template": {"type": "string", "minLength": 1},
            "subject": {"type": "string", "minLength": 1},
            "body": {"type": "string"},
            "html": {"type": "string"},
        },
        "additionalProperties": False,
    }
    literal_fields = ("template",)

    def validate_config(self, config: dict[str, Any]) -> list[dict[str, str]]:
        from automations.models import EmailTemplate

        if "template" in config:
            if {"subject", "body", "html"} & set(config):
                return [{"field": "config.template", "message": "use either a template or subject/body, not both"}]
            if not EmailTemplate.objects.filter(key=config["template"]).exists():
                return [{"field": "config.template", "message": f"no email template with key {config['template']!r}"}]
            return []
        if "subject" not in config or "body" not in config:
            return [{"field": "config.subject" if "subject" not in config else "config.body",
                     "message": "is required when no template is given"}]
        return []

    def compose(self, config: dict[str, Any], context: ActionContext) -> EmailMultiAlternatives:
        """The message ``run()`` sends: template rendered, recipients resolved, Message-ID set."""
        from automations.models import EmailTemplate

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
        from_email = (config.get("from") or _default_from())
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
        try:
            sent = message.send()
        except (OSError, TimeoutError) as exc:  # SMTP connection trouble: worth another try
            raise ActionError(f"could not send email: {exc}", retryable=True) from exc
        if not sent:
            raise ActionError("the email backend accepted no message", retryable=True)
        return self._summary(message)

    def preview(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        message = self.compose(config, context)
        summary = self._summary(message)
        summary["body"] = message.body
        return summary

    @staticmethod
    def _summary(message: EmailMultiAlternatives) -> dict[str, Any]:
        return {"to": message.to, "cc": message.cc, "bcc": message.bcc, "subject": message.subject,
                "message_id": message.extra_headers["Message-ID"]}


def _default_from() -> str:
    from billing_events.conf import app_settings

    return app_settings.DEFAULT_FROM_EMAIL or settings.DEFAULT_FROM_EMAIL
