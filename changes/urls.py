"""URL of the change feed, included under /api/v1/changes/."""

from django.urls import path

from changes import views

urlpatterns = [path("", views.ChangeFeedView.as_view(), name="changes")]
