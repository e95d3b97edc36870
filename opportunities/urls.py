"""Opportunities's API routes, registered under /api/v1/ by crm/urls.py (which names this module by string)."""

from django.urls import path

from opportunities.views import (
    OpportunityContactViewSet,
    OpportunityProductViewSet,
    OpportunityViewSet,
    StageProbabilityView,
)

# (URL prefix, viewset, basename) for the API's router.
routes = [
    ("opportunities", OpportunityViewSet, "opportunity"),
    ("opportunity-products", OpportunityProductViewSet, "opportunity-product"),
    ("opportunity-contacts", OpportunityContactViewSet, "opportunity-contact"),
]

# Included under /api/v1/ by crm/urls.py: a firm's one set of figures, not a collection of records.
urlpatterns = [path("stage-probabilities/", StageProbabilityView.as_view(), name="stage-probabilities")]
