"""The admin lists every model of the platform. Versions are immutable, so their admin is read-only."""

from django.contrib import admin

from graphs.models import (
    Activity,
    CompositeBlock,
    CompositeVersion,
    Graph,
    GraphVersion,
    Invitation,
    Membership,
    Tag,
    Team,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that are history: visible, searchable, deletable with their parent, never edited or added here."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "joined_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "team__name", "team__slug"]
    list_select_related = ["user", "team"]
    autocomplete_fields = ["user", "team"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["team", "role", "created_by", "created_at", "expires_at", "accepted_by", "revoked"]
    list_filter = ["role", "revoked"]
    search_fields = ["team__name", "team__slug", "created_by__username", "accepted_by__username"]
    list_select_related = ["team", "created_by", "accepted_by"]
    readonly_fields = ["token", "created_at", "accepted_by", "accepted_at"]
    autocomplete_fields = ["team", "created_by"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(Graph)
class GraphAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "team", "visibility", "head", "updated_at"]
    list_filter = ["visibility"]
    search_fields = ["name", "description", "owner__username", "team__name", "tags__name"]
    list_select_related = ["owner", "team", "head"]
    readonly_fields = ["head", "forked_from", "created_at", "updated_at"]
    autocomplete_fields = ["owner", "team", "tags"]
    date_hierarchy = "updated_at"


@admin.register(GraphVersion)
class GraphVersionAdmin(ReadOnlyAdmin):
    list_display = ["graph", "number", "author", "message", "valid", "error_count", "params_total", "created_at"]
    list_filter = ["valid"]
    search_fields = ["graph__name", "message", "author__username", "content_hash"]
    list_select_related = ["graph", "author"]
    date_hierarchy = "created_at"


@admin.register(CompositeBlock)
class CompositeBlockAdmin(admin.ModelAdmin):
    list_display = ["name", "library", "head", "updated_at"]
    search_fields = ["name", "description", "owner__username", "team__name", "team__slug"]
    list_select_related = ["owner", "team", "head"]
    readonly_fields = ["head", "created_by", "created_at", "updated_at"]
    autocomplete_fields = ["owner", "team"]


@admin.register(CompositeVersion)
class CompositeVersionAdmin(ReadOnlyAdmin):
    list_display = ["block", "number", "author", "message", "created_at"]
    search_fields = ["block__name", "message", "author__username", "content_hash"]
    list_select_related = ["block", "author"]


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "verb", "summary", "graph", "team"]
    list_filter = ["verb"]
    search_fields = ["summary", "actor__username", "graph__name", "team__name"]
    list_select_related = ["actor", "graph", "team"]
    date_hierarchy = "created_at"
