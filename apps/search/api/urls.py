from django.urls import path

from apps.search.api import views

urlpatterns = [
    path("search", views.SearchView.as_view(), name="search"),
    path("search/suggest", views.SuggestView.as_view(), name="search-suggest"),
    path("posts/<int:post_id>/related", views.RelatedPostsView.as_view(), name="post-related"),
    path("trending", views.TrendingView.as_view(), name="trending"),
]
