"""`manage.py create_tenant NAME --admin-email E --admin-password P`: a new firm and its first admin."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.services import tenant_create


class Command(BaseCommand):
    help = "Create a tenant (brokerage firm) and its first admin user, non-interactively."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help='The firm\'s name, e.g. "Acme Brokers".')
        parser.add_argument("--admin-email", required=True, help="Email (sign-in name) of the first admin.")
        parser.add_argument(
            "--admin-password", required=True, help="Password of the first admin (Django's validators apply)."
        )
        parser.add_argument(
            "--time-zone",
            default="UTC",
            help='IANA time zone the firm\'s reports count days in, e.g. "America/Chicago" (default UTC).',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = tenant_create(
                name=options["name"],
                admin_email=options["admin_email"],
                admin_password=options["admin_password"],
                time_zone=options["time_zone"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(_messages(exc))) from exc
        admin = tenant.memberships.get().user
        self.stdout.write(
            self.style.SUCCESS(f'Created tenant "{tenant.name}" (id {tenant.pk}) with admin {admin.email}.')
        )


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{field}: {message}" for field, errors in exc.message_dict.items() for message in errors]
    return list(exc.messages)
