"""`manage.py demo_logins`: where the server is and how to sign in as each demo user."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand

from workbench.demo import DEMO_PASSWORD, DEMO_TENANT_NAME, demo_members


class Command(BaseCommand):
    help = "Print the local URLs and the demo users' emails, roles and password."

    def handle(self, *args: Any, **options: Any) -> None:
        base = f"http://127.0.0.1:{os.environ.get('PORT') or '8000'}"
        members = demo_members()
        self.stdout.write(f"CRM at {base}/")
        self.stdout.write(f"  Django admin  {base}/admin/")
        self.stdout.write(f"  API           {base}/api/v1/")
        self.stdout.write(f"  API docs      {base}/api/v1/docs/")
        if not members:
            self.stdout.write(
                self.style.WARNING(
                    f'The demo tenant "{DEMO_TENANT_NAME}" is not loaded: run `manage.py load_demo`.'
                )
            )
            return
        self.stdout.write(f'\nDemo users of "{DEMO_TENANT_NAME}" (password for all: {DEMO_PASSWORD}):')
        for member in members:
            self.stdout.write(f"  {member.user.email:<42} {member.role:<8} {DEMO_PASSWORD}")
        example = members[0].user.email
        self.stdout.write("\nGet an access token:")
        self.stdout.write(
            f"  curl -s -X POST {base}/api/v1/auth/token/ -H 'Content-Type: application/json' \\\n"
            f'       -d \'{{"email": "{example}", "password": "{DEMO_PASSWORD}"}}\''
        )
        self.stdout.write(
            "Then call the API with it:\n"
            f"  curl -s {base}/api/v1/opportunities/ -H 'Authorization: Bearer <access token>'"
        )
