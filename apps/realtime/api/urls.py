from django.urls import path

from apps.realtime.api.views import RoomMembersView

urlpatterns = [
    path("realtime/rooms/<str:room>/members", RoomMembersView.as_view(), name="realtime-room-members"),
]
