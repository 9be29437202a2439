"""A URL configuration for tests/core/test_asgi_http.py: health at a different path."""

from django.urls import path

from apps.core.views import HealthView

urlpatterns = [path("moved/health", HealthView.as_view())]
