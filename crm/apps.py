"""App configs of the project package: the CRM itself, and the admin running on the CRM's own site."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


def _last_login_not_tracked(**kwargs: object) -> None:
    """Stands in for django.contrib.auth.models.update_last_login (see CrmConfig.ready)."""


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Tenancy and users"

    def ready(self) -> None:
        from django.contrib.auth import user_logged_in
        from django.contrib.auth.models import update_last_login
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate, pre_migrate

        from crm.api import schema  # noqa: F401 - registers the OpenAPI authentication extensions
        from crm.signals import (
            harden_trigger_ignore,
            read_book_statistics,
            reset_migration_lock_timeout,
            set_migration_lock_timeout,
        )

        post_migrate.connect(harden_trigger_ignore, sender=self, dispatch_uid="crm.harden_trigger_ignore")
        connection_created.connect(read_book_statistics, dispatch_uid="crm.read_book_statistics")
        pre_migrate.connect(
            set_migration_lock_timeout, sender=self, dispatch_uid="crm.migration_lock_timeout"
        )
        post_migrate.connect(
            reset_migration_lock_timeout, sender=self, dispatch_uid="crm.reset_migration_lock_timeout"
        )

        # Sign-in happens before the request knows its user, so RLS would refuse Django's last_login
        # update (an UPDATE of 0 rows is an error for save(update_fields=...)). Not tracked for now.
        # django.contrib.auth connects its receiver after this app is ready, under this dispatch_uid:
        # holding the uid with a receiver that does nothing keeps Django's from being connected.
        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
        user_logged_in.connect(_last_login_not_tracked, dispatch_uid="update_last_login")


class CrmAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with crm.admin_site.CrmAdminSite as `admin.site`."""

    default = False  # named explicitly in INSTALLED_APPS; "crm" alone still means CrmConfig
    default_site = "crm.admin_site.CrmAdminSite"

    def ready(self) -> None:
        super().ready()  # autodiscovers every app's admin.py
        from django.contrib import admin
        from django.contrib.auth.models import Group

        # Access comes from memberships, not Django groups and permissions: nothing to manage there.
        if admin.site.is_registered(Group):
            admin.site.unregister(Group)
        # Procrastinate's job pages read the queue, which holds every firm's job arguments and which the
        # runtime role (the one admin pages run as) may not read: the queue is watched with dbhealth and
        # `manage.py procrastinate shell` instead (README, "Background jobs").
        from procrastinate.contrib.django.models import ProcrastinateJob

        if admin.site.is_registered(ProcrastinateJob):
            admin.site.unregister(ProcrastinateJob)
