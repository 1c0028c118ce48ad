"""Shared pytest configuration. Tier fixtures live in their own plugin modules (listed below)."""

pytest_plugins = ["kubeharness.fixtures", "rikugame_crds"]
