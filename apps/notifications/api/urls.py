from django.urls import path

from apps.notifications.api import views

urlpatterns = [
    path("notifications", views.NotificationListView.as_view(), name="notifications"),
    path("notifications/read", views.MarkReadView.as_view(), name="notifications-read"),
    path("notifications/unread-count", views.UnreadCountView.as_view(), name="notifications-unread-count"),
    path("notifications/settings", views.SettingsView.as_view(), name="notifications-settings"),
    path("notifications/subscriptions", views.SubscriptionListView.as_view(), name="notifications-subscriptions"),
    path(
        "notifications/subscriptions/<str:target_type>/<int:target_id>",
        views.SubscriptionDetailView.as_view(),
        name="notifications-subscription",
    ),
    path("notifications/<int:pk>", views.NotificationDetailView.as_view(), name="notification"),
]
