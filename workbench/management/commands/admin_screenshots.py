"""`manage.py admin_screenshots --out DIR`: the admin's main pages, signed in as a demo manager, saved as PNGs
1400 px wide by headless Chromium, each page's width checked against the window."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.models import Role
from workbench.admin_pages import WINDOW_WIDTH, main_pages, measure, screenshot, signed_in_page
from workbench.demo import DEMO_PASSWORD, demo_members


class Command(BaseCommand):
    help = "Screenshots of the admin's main pages (headless Chromium, 1400 px wide) from a running server."

    def add_arguments(self, parser: CommandParser) -> None:
        default_url = f"http://127.0.0.1:{os.environ.get('PORT') or '8000'}"
        parser.add_argument("--out", required=True, type=Path, help="Directory for the PNG files.")
        parser.add_argument("--url", default=default_url, help=f"The running server (default {default_url}).")
        parser.add_argument("--email", help="Sign in as this member (default: the demo's first manager).")
        parser.add_argument("--password", default=DEMO_PASSWORD, help="Their password (default: the demo's).")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"]
        members = demo_members()
        if email is None:
            managers = [m for m in members if m.role == Role.MANAGER]
            if not managers:
                raise CommandError("No demo manager: load the demo (manage.py load_demo) or pass --email.")
            email = managers[0].user.email
        from crm.models import User

        user = User.objects.filter(email=email).first()
        if user is None:
            raise CommandError(f"No user {email} in this database (the server's?).")
        # Which rows to show is found before the browser starts (Playwright's loop makes Django refuse queries).
        pages = main_pages(user.pk)
        out: Path = options["out"]
        out.mkdir(parents=True, exist_ok=True)
        base = options["url"].rstrip("/")
        too_wide = []
        with signed_in_page(base, email, options["password"]) as page:
            for admin_page in pages:
                measured = measure(page, base, admin_page)
                path = screenshot(page, out, admin_page)
                fits = measured.scroll_width <= WINDOW_WIDTH
                line = f"{path}  {admin_page.path}  HTTP {measured.status}  width {measured.scroll_width}px"
                if measured.scrolling:
                    line += f"  (scrolls sideways inside: {'; '.join(measured.scrolling)})"
                self.stdout.write(
                    line if fits else self.style.WARNING(f"{line}  TOO WIDE {measured.overflowing}")
                )
                if not fits or measured.status != 200:
                    too_wide.append(admin_page.path)
        if too_wide:
            raise CommandError(f"Pages wider than {WINDOW_WIDTH}px or not 200: {too_wide}")
