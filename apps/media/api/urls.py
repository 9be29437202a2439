from django.urls import path

from apps.media.api import views

urlpatterns = [
    path("media", views.MediaUploadView.as_view(), name="media-upload"),
    path("media/<int:pk>", views.MediaDetailView.as_view(), name="media-detail"),
    path("media/files/<uuid:key>/<str:variant>", views.media_file, name="media-file"),
]
