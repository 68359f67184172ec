"""The name and queue of the job that applies the Stripe events the webhook keeps: the inbox
(`service.receive_event`) defers it and `tasks.py` defines it, which imports the service, so the
name lives here, below both."""

APPLY_EVENTS = "payments.apply_events"
EVENTS_QUEUE = "stripe-events"
