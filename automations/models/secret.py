"""Named secrets: their values encrypted at rest, never shown (``automations.vault``)."""
from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords

from automations.encryption import decrypt, encrypt


class Secret(models.Model):
    """A value that steps reference as ``{{ secrets.NAME }}``; it is written, never read back."""
    name = models.CharField(max_length=100, unique=True, validators=[RegexValidator(
        r"^[A-Za-z_][A-Za-z0-9_]*$", "letters, digits and _, not starting with a digit")],
        help_text="Referenced as {{ secrets.NAME }}.")
    description = models.CharField(max_length=500, blank=True)
    ciphertext = models.TextField(editable=False, help_text="The value, encrypted (Fernet).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    # Who changed what and when; the encrypted value stays out of the history table.
    history = HistoricalRecords(excluded_fields=["ciphertext"])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def set_value(self, value: str) -> None:
        """Encrypt ``value`` into this row (saved by the caller)."""
        self.ciphertext = encrypt(value)

    def reveal(self) -> str:
        """The value, decrypted: for the outbound call only."""
        return decrypt(self.ciphertext)
