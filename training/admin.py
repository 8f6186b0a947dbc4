"""Runs and datasets in the admin: visible and searchable, never edited (a run changes only through its
transitions; a dataset is what its upload was)."""

from django.contrib import admin

from graphs.admin import ReadOnlyAdmin
from training.models import Dataset, Run, RunEvent, RunSet


class RunEventInline(admin.TabularInline):
    model = RunEvent
    fields = ["seq", "kind", "payload", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ["seq"]


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "name",
        "version",
        "user",
        "status",
        "queue",
        "device",
        "attempts",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "queue"]
    search_fields = ["name", "tags__name", "user__username", "version__graph__name", "worker", "error"]
    list_select_related = ["version__graph", "user"]
    inlines = [RunEventInline]


@admin.register(RunSet)
class RunSetAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "kind", "axis", "version", "user", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "user__username", "version__graph__name"]
    list_select_related = ["version__graph", "user"]


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "kind", "owner", "team", "visibility", "builtin", "created_at"]
    list_filter = ["kind", "visibility"]
    search_fields = ["name", "owner__username", "builtin"]
    list_select_related = ["owner", "team"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # through the page or the API, which also remove the stored file
