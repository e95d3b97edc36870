"""Root URLs: the admin, the API under /api/v1/, and the schema."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
]
