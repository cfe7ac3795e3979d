"""Accounts, roles and what each user may see."""
