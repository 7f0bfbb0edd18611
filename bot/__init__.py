"""Kokemusvälitys: a Telegram bot for a coordination centre of experts by experience."""
