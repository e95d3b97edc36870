"""URLs of webhooks, included under /api/v1/webhooks/."""

urlpatterns: list = []
