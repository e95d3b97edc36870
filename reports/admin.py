"""The sales dashboard's place on the admin site (/admin/dashboard/, listed first on the index)."""

from django.contrib import admin

from crm.admin_site import AdminPage, CrmAdminSite
from reports.dashboard import dashboard

if isinstance(admin.site, CrmAdminSite):
    admin.site.register_page(
        AdminPage(
            route="dashboard/",
            name="reports_dashboard",
            view=dashboard,
            title="Sales dashboard",
            section="Reports",
        )
    )
