"""Delivery: calls and SMS through Twilio (or the phone-network simulator), outbox and webhooks."""
