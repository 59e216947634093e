"""Fixtures of the infra tests; the mocks and helpers live in pulumi_mocks.py (a name no other test uses)."""

from pulumi_mocks import deploy, project

__all__ = ["deploy", "project"]
