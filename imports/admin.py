"""The import page's place on the admin site (/admin/imports/)."""

from django.contrib import admin

from crm.admin_site import AdminPage, CrmAdminSite
from imports.admin_page import import_page

if isinstance(admin.site, CrmAdminSite):
    admin.site.register_page(
        AdminPage(route="imports/", name="imports_page", view=import_page, title="Imports", section="Data")
    )
