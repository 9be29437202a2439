from django.urls import path

from . import views

urlpatterns = [
    path("market/price", views.PriceView.as_view(), name="market-price"),
    path("market/history", views.HistoryView.as_view(), name="market-history"),
    path("market/milestones", views.MilestoneListView.as_view(), name="market-milestones"),
    path(
        "market/milestones/<int:milestone_id>/card.png",
        views.MilestoneCardView.as_view(),
        name="market-milestone-card",
    ),
    path("market/alerts", views.PriceAlertListView.as_view(), name="market-alerts"),
    path("market/alerts/<int:alert_id>", views.PriceAlertDetailView.as_view(), name="market-alert"),
    path("market/sources", views.SourceHealthView.as_view(), name="market-sources"),
]
