from django.db.transaction import non_atomic_requests
from django.urls import path

from apps.core.views import HealthView, ReadinessView

urlpatterns = [
    path("health", non_atomic_requests(HealthView.as_view()), name="health"),
    path("health/ready", non_atomic_requests(ReadinessView.as_view()), name="health-ready"),
]
