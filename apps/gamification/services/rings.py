"""Vote rings: finding groups that vote for each other (strongly connected heavy-vote graph) and
penalising one (its internal vote points reversed, a report for moderators). The nightly scan
that feeds them is apps.gamification.jobs.detect_vote_rings."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F

from apps.core.events import emit
from apps.gamification.events import VoteRingDetected
from apps.gamification.models import VoteRingReport
from apps.gamification.services.ledger import reverse_transaction
from apps.gamification.services.votes import standing_vote_awards


def strongly_connected(graph: dict[int, set[int]]) -> list[list[int]]:
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    out: list[list[int]] = []
    counter = [0]

    def visit(v: int) -> None:  # recursion depth is bounded by the (small) heavy-edge graph
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def penalise_ring(
    *, members: list[int], edges: list[list[int]], since: dt.datetime, now: dt.datetime
) -> VoteRingReport:
    """Reverse the vote points the members gave each other in the window; record (once a day)
    and announce (once) the ring."""
    awards = standing_vote_awards(since=since, user_id__in=members, actor_id__in=members).values_list("id", "amount")
    reversed_count = reversed_points = 0
    for txn_id, amount in list(awards):
        if reverse_transaction(transaction_id=txn_id, reason="vote ring") is not None:
            reversed_count += 1
            reversed_points += amount
    with transaction.atomic():
        report, created = VoteRingReport.objects.get_or_create(
            dedupe_key=f"ring:{','.join(map(str, members))}:{now.date().isoformat()}",
            defaults={"members": members, "edges": edges, "window_start": since, "window_end": now},
        )
        report.reversed_transactions = F("reversed_transactions") + reversed_count
        report.reversed_points = F("reversed_points") + reversed_points
        report.save(update_fields=["reversed_transactions", "reversed_points"])
        report.refresh_from_db()
        if created:
            emit(VoteRingDetected(report_id=report.id, member_ids=tuple(members)))
    return report
