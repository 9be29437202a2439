"""The review queue: highest score first, filters, the reported content inline, bulk actions and
one-click actions on an item, all through the same services as the API."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import truncatechars
from django.urls import path, reverse
from django.utils.html import format_html

from apps.accounts.access import user_can
from apps.accounts.models import User
from apps.core.exceptions import ApplicationError
from apps.forum.models import Comment, Post
from apps.moderation import selectors, services
from apps.moderation.admin.common import ModeratorOnly
from apps.moderation.models import ALL_REASONS, AuditLogEntry, Report, Reviewable, ReviewableStatus

ITEM_ACTIONS = [
    ("remove", "Remove content"),
    ("hide", "Hide content"),
    ("approve", "Approve / publish content"),
    ("restore", "Restore content"),
    ("agree", "Agree (keep as is)"),
    ("dismiss", "Dismiss reports"),
    ("ignore", "Ignore"),
    ("lock", "Lock thread"),
    ("unlock", "Unlock thread"),
    ("pin", "Pin thread"),
    ("unpin", "Unpin thread"),
    ("warn", "Warn the author"),
    ("suspend", "Suspend the author"),
    ("ban", "Ban the author"),
    ("unsuspend", "Lift the author's suspension/ban"),
]


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [*ReviewableStatus.choices, ("all", "All")]

    def choices(self, changelist):
        value = self.value() or ReviewableStatus.PENDING
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or ReviewableStatus.PENDING
        return queryset if value == "all" else queryset.filter(status=value)


class ReasonFilter(admin.SimpleListFilter):
    title = "reason"
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return ALL_REASONS

    def queryset(self, request, queryset):
        return queryset.filter(reasons__contains=[self.value()]) if self.value() else queryset


class QueueChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # The reported content of a whole page in one query per type, not one per row.
        self.result_list = selectors.attach_targets(self.result_list)


class ReportInline(admin.TabularInline):
    model = Report
    extra = 0
    can_delete = False
    fields = ["reporter", "reason", "note", "weight", "status", "created_at"]
    readonly_fields = fields
    ordering = ["-weight", "id"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return user_can(request.user, "content.moderate")


class AuditInline(admin.TabularInline):
    model = AuditLogEntry
    fk_name = "reviewable"
    extra = 0
    can_delete = False
    fields = ["created_at", "actor", "action", "reason", "before", "after"]
    readonly_fields = fields
    ordering = ["-id"]
    verbose_name_plural = "history"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return user_can(request.user, "audit.read")


def _bulk(action: str, label: str):
    def run(modeladmin, request, queryset):
        done, errors = services.bulk_act(
            reviewable_ids=list(queryset.values_list("pk", flat=True)),
            actor=request.user,
            action=action,
            reason=f"Bulk '{action}' from the admin queue",
        )
        if done:
            modeladmin.message_user(request, f"{label}: {done} item(s) done.", messages.SUCCESS)
        for error in errors[:20]:
            modeladmin.message_user(request, error, messages.WARNING)

    run.__name__ = f"bulk_{action}"
    run.short_description = f"{label} (selected items)"
    return run


def _target_link(target) -> str:
    if isinstance(target, Post):
        return reverse("admin:forum_post_change", args=[target.pk]) if _registered(Post) else ""
    if isinstance(target, Comment):
        return reverse("admin:forum_comment_change", args=[target.pk]) if _registered(Comment) else ""
    if isinstance(target, User):
        return reverse("admin:moderation_moderateduser_change", args=[target.pk])
    return ""


def _registered(model) -> bool:
    return admin.site.is_registered(model)


@admin.register(Reviewable)
class ReviewableAdmin(ModeratorOnly, admin.ModelAdmin):
    list_display = [
        "id",
        "score_display",
        "content_preview",
        "reasons_display",
        "report_count",
        "author",
        "category",
        "status",
        "claimed_by",
        "created_at",
    ]
    list_display_links = ["id", "score_display"]
    list_filter = [StatusFilter, ReasonFilter, "kind", "target_type", ("category", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["target_user", "claimed_by", "category"]
    ordering = ["-score", "-id"]
    list_per_page = 50
    search_fields = ["target_user__username", "reports__note"]
    actions = [
        _bulk("remove", "Remove content"),
        _bulk("hide", "Hide content"),
        _bulk("approve", "Approve / publish content"),
        _bulk("agree", "Agree with reports"),
        _bulk("dismiss", "Dismiss reports"),
        _bulk("ignore", "Ignore"),
    ]
    inlines = [ReportInline, AuditInline]
    readonly_fields = [
        "kind",
        "target_type",
        "target_id",
        "content_full",
        "target_user",
        "category",
        "status",
        "score",
        "report_count",
        "reasons",
        "auto_hidden",
        "claimed_by",
        "claimed_at",
        "resolution",
        "resolved_by",
        "resolved_at",
        "created_at",
    ]
    fields = readonly_fields
    change_form_template = "admin/moderation/reviewable/change_form.html"

    def get_changelist(self, request, **kwargs):
        return QueueChangeList

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="score", ordering="score")
    def score_display(self, obj: Reviewable) -> str:
        return f"{obj.score:.1f}"

    @admin.display(description="reasons")
    def reasons_display(self, obj: Reviewable) -> str:
        return ", ".join(obj.reasons)

    @admin.display(description="author", ordering="target_user__username")
    def author(self, obj: Reviewable) -> str:
        return obj.target_user.username if obj.target_user else "—"

    @admin.display(description="reported content")
    def content_preview(self, obj: Reviewable) -> str:
        target = getattr(obj, "target", None)
        if target is None:
            target = selectors.attach_targets([obj])[0].target
        return self._render(obj, target, 240)

    @admin.display(description="reported content")
    def content_full(self, obj: Reviewable) -> str:
        return self._render(obj, selectors.attach_targets([obj])[0].target, 20000)

    def _render(self, obj: Reviewable, target, limit: int) -> str:
        if target is None:
            return format_html("<em>{} {} no longer exists</em>", obj.target_type, obj.target_id)
        if isinstance(target, Post):
            return format_html(
                '<div class="sk-target" style="min-width:28em;max-width:48em"><strong>{}</strong> <small>[post {}, {}]</small><br>{}</div>',
                target.title,
                target.pk,
                target.status,
                truncatechars(target.body, limit),
            )
        if isinstance(target, Comment):
            return format_html(
                '<div class="sk-target" style="min-width:28em;max-width:48em"><small>[comment {} on post {}, {}]</small><br>{}</div>',
                target.pk,
                target.post_id,
                target.status,
                truncatechars(target.body, limit),
            )
        return format_html(
            '<div class="sk-target" style="min-width:28em;max-width:48em">user <strong>{}</strong> <small>[{}{}]</small></div>',
            target.username,
            "deleted" if not target.is_active else "banned" if target.is_banned else "active",
            f", suspended until {target.suspended_until:%Y-%m-%d %H:%M}"
            if target.is_suspended and not target.is_banned
            else "",
        )

    # --- one item: claim, act ----------------------------------------------------------------

    def get_urls(self):
        urls = super().get_urls()
        extra = [
            path("<int:object_id>/act/", self.admin_site.admin_view(self.act_view), name="moderation_reviewable_act"),
            path(
                "<int:object_id>/claim/",
                self.admin_site.admin_view(self.claim_view),
                name="moderation_reviewable_claim",
            ),
        ]
        return extra + urls

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "item_actions": ITEM_ACTIONS,
            "can_act": user_can(request.user, "content.moderate"),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _next_url(self, request, obj: Reviewable) -> str:
        if request.POST.get("next") == "item":
            return reverse("admin:moderation_reviewable_change", args=[obj.pk])
        return reverse("admin:moderation_reviewable_changelist")

    def act_view(self, request, object_id: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = get_object_or_404(Reviewable, pk=object_id)
        action = request.POST.get("action", "")
        reason = request.POST.get("reason", "").strip()
        hours = request.POST.get("duration_hours", "").strip()
        duration = None
        if hours:
            try:
                duration = timedelta(hours=int(hours))
            except ValueError:
                self.message_user(request, "Duration must be a whole number of hours.", messages.ERROR)
                return HttpResponseRedirect(reverse("admin:moderation_reviewable_change", args=[obj.pk]))
        try:
            services.reviewable_act(
                reviewable_id=obj.pk, actor=request.user, action=action, reason=reason, duration=duration
            )
        except ApplicationError as exc:
            self.message_user(request, f"#{obj.pk}: {exc.message}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:moderation_reviewable_change", args=[obj.pk]))
        label = dict(ITEM_ACTIONS).get(action, action)
        self.message_user(request, f"#{obj.pk}: {label} done.", messages.SUCCESS)
        return HttpResponseRedirect(self._next_url(request, obj))

    def claim_view(self, request, object_id: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            if request.POST.get("release"):
                services.reviewable_unclaim(reviewable_id=object_id, moderator=request.user)
                self.message_user(request, "Claim released.", messages.SUCCESS)
            else:
                services.reviewable_claim(reviewable_id=object_id, moderator=request.user)
                self.message_user(request, "You hold this item now.", messages.SUCCESS)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        return HttpResponseRedirect(reverse("admin:moderation_reviewable_change", args=[object_id]))
