from django.urls import path

from apps.gamification.api import views

urlpatterns = [
    path("points/activities", views.ActivityListView.as_view(), name="points-activities"),
    path("achievements", views.AchievementListView.as_view(), name="achievements"),
    path("users/<int:user_id>/achievements", views.UserAchievementListView.as_view(), name="user-achievements"),
    path("users/<int:user_id>/points", views.UserPointsView.as_view(), name="user-points"),
    path("leaderboard", views.LeaderboardView.as_view(), name="leaderboard"),
    path("levels", views.LevelListView.as_view(), name="levels"),
]
