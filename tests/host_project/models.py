"""The host's own billing models: amounts in cents, its own names for everything."""
from django.db import models


class Account(models.Model):
    code = models.CharField(max_length=50, unique=True)
    display_name = models.CharField(max_length=200)
    contact_email = models.EmailField()
    mobile = models.CharField(max_length=30, blank=True)
    card_token = models.CharField(max_length=50, blank=True)
    labels = models.JSONField(default=list)
    collections_flag = models.BooleanField(default=False)


class Bill(models.Model):
    reference = models.CharField(max_length=50, unique=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    state = models.CharField(max_length=20, default="unpaid")  # unpaid, settled, cancelled
    currency = models.CharField(max_length=3, default="EUR")
    total_cents = models.IntegerField()
    due_cents = models.IntegerField()
    due_on = models.DateField()


class Charge(models.Model):
    bill = models.ForeignKey(Bill, on_delete=models.CASCADE)
    cents = models.IntegerField()
    ok = models.BooleanField()
    code = models.CharField(max_length=50, blank=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
