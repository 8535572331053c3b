"""The Stripe connector: Stripe's events in (a webhook endpoint mapping them onto the catalogue)
and money out (``StripeGateway``, a billing gateway that calls Stripe's API with idempotency keys).
Needs the ``stripe`` extra (``pip install "billing-automations[stripe]"``)."""
