"""Organizations's API routes, registered under /api/v1/ by crm/urls.py (which names this module by string)."""

from organizations.views import (
    CustomerDistributorViewSet,
    DistributorAuthorizationViewSet,
    OrganizationViewSet,
    PrincipalAssignmentViewSet,
)

# (URL prefix, viewset, basename) for the API's router.
routes = [
    ("organizations", OrganizationViewSet, "organization"),
    ("principal-assignments", PrincipalAssignmentViewSet, "principal-assignment"),
    ("distributor-authorizations", DistributorAuthorizationViewSet, "distributor-authorization"),
    ("customer-distributors", CustomerDistributorViewSet, "customer-distributor"),
]
