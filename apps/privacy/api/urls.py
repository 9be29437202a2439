from django.urls import re_path

from apps.privacy.api import views

urlpatterns = [
    re_path(r"^users/me/export$", views.ExportView.as_view(), name="user-export"),
]
