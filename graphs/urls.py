"""The pages (HTML, htmx partials, downloads), included at the site root."""

from django.urls import path

from graphs import views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("graphs/", views.graph_list, name="graph-list"),
    path("graphs/new/", views.graph_new, name="graph-new"),
    path("graphs/import/", views.graph_import, name="graph-import"),
    path("graphs/<int:pk>/", views.graph_detail, name="graph-detail"),
    path("graphs/<int:pk>/title/", views.graph_title, name="graph-title"),
    path("graphs/<int:pk>/rename/", views.graph_rename, name="graph-rename"),
    path("graphs/<int:pk>/settings/", views.graph_settings, name="graph-settings"),
    path("graphs/<int:pk>/delete/", views.graph_delete, name="graph-delete"),
    path("graphs/<int:pk>/fork/", views.graph_fork, name="graph-fork"),
    path("graphs/<int:pk>/diff/", views.graph_diff, name="graph-diff"),
    path("graphs/<int:pk>/canvas/", views.graph_canvas, name="graph-canvas"),
    path("graphs/<int:pk>/versions/<int:number>/", views.graph_version, name="graph-version"),
    path("graphs/<int:pk>/versions/<int:number>/restore/", views.graph_restore, name="graph-restore"),
    path("graphs/<int:pk>/versions/<int:number>/download/<str:fmt>/", views.graph_download, name="graph-download"),
    path("graphs/<int:pk>/versions/<int:number>/artifacts/", views.graph_artifacts, name="graph-artifacts"),
    path(
        "graphs/<int:pk>/versions/<int:number>/artifacts/<int:artifact_id>/download/",
        views.graph_artifact_download,
        name="graph-artifact-download",
    ),
    path("templates/", views.template_gallery, name="template-gallery"),
    path("templates/<str:name>/use/", views.template_use, name="template-use"),
    path("teams/", views.team_list, name="team-list"),
    path("teams/<slug:slug>/", views.team_detail, name="team-detail"),
    path("teams/<slug:slug>/leave/", views.team_leave, name="team-leave"),
    path("teams/<slug:slug>/invitations/", views.team_invite, name="team-invite"),
    path("teams/<slug:slug>/invitations/<int:pk>/revoke/", views.team_invite_revoke, name="team-invite-revoke"),
    path("teams/<slug:slug>/members/<int:user_id>/role/", views.team_role, name="team-role"),
    path("teams/<slug:slug>/members/<int:user_id>/remove/", views.team_remove, name="team-remove"),
    path("invite/<str:token>/", views.invitation_accept, name="invitation-accept"),
    path("library/", views.composite_list, name="composite-list"),
    path("library/publish/", views.composite_publish, name="composite-publish"),
    path("library/<int:pk>/", views.composite_detail, name="composite-detail"),
    path("library/<int:pk>/delete/", views.composite_delete, name="composite-delete"),
    path("library/builtin/<str:name>/", views.builtin_block_detail, name="builtin-block-detail"),
]
