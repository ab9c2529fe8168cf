from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operator tooling without models: backup, restore and generate_secrets commands."""

    name = "ops"
    verbose_name = "Operations"
