from django.urls import path

from apps.moderation.api import views

urlpatterns = [
    path("reports", views.ReportCreateView.as_view(), name="report-create"),
    path("moderation/queue", views.QueueView.as_view(), name="moderation-queue"),
    path("moderation/queue/<int:pk>", views.QueueItemView.as_view(), name="moderation-queue-item"),
    path("moderation/queue/<int:pk>/claim", views.QueueClaimView.as_view(), name="moderation-queue-claim"),
    path("moderation/queue/<int:pk>/actions", views.QueueActionView.as_view(), name="moderation-queue-action"),
    path("moderation/actions", views.TargetActionView.as_view(), name="moderation-action"),
    path("moderation/audit-log", views.AuditLogView.as_view(), name="moderation-audit-log"),
    path("moderation/watched-words", views.WatchedWordListView.as_view(), name="moderation-watched-words"),
    path("moderation/watched-words/<int:pk>", views.WatchedWordDetailView.as_view(), name="moderation-watched-word"),
]
