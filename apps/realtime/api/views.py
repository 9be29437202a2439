from __future__ import annotations

import re

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.serializers import PublicUserSerializer
from apps.core.exceptions import NotFound, ValidationFailed
from apps.core.pagination import MAX_LIMIT, parse_limit
from apps.realtime.presence import get_store

ROOM_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


class RoomMembersView(APIView):
    """Who is in `presence:<room>` right now (the same members a socket gets in presence.state)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Members present in a real-time room",
        tags=["realtime"],
        responses=PublicUserSerializer(many=True),
    )
    def get(self, request, room: str):
        if not ROOM_RE.match(room):
            raise NotFound("No such room.")
        members = get_store().members_sync(room)
        limit = parse_limit(request, default=MAX_LIMIT)
        try:
            page = int(request.query_params.get("page") or 1)
            if not 1 <= page <= 10_000:
                raise ValueError
        except ValueError:
            raise ValidationFailed("page must be a whole number from 1 to 10000.", details={"page": ["Invalid page."]})
        rows = members[(page - 1) * limit : page * limit]
        return Response({"data": rows, "meta": {"pagination": {"page": page, "limit": limit, "total": len(members)}}})
