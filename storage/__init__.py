"""Persistence: models, the unit of work, repositories and migrations. No Telegram here."""
