from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from graphs import api, engine_views

router = SimpleRouter()
router.register("graphs", api.GraphViewSet, basename="api-graph")
router.register("teams", api.TeamViewSet, basename="api-team")
router.register("composites", api.CompositeViewSet, basename="api-composite")

urlpatterns = [
    path("registry/", engine_views.RegistryView.as_view(), name="api-registry"),
    path("validate/", engine_views.ValidateView.as_view(), name="api-validate"),
    path("document/", engine_views.DocumentView.as_view(), name="api-document"),
    path("codegen/", engine_views.CodegenView.as_view(), name="api-codegen"),
    path("export/zip/", engine_views.ExportZipView.as_view(), name="api-export-zip"),
    path("diagram/", engine_views.DiagramView.as_view(), name="api-diagram"),
    path("templates/", api.TemplateListView.as_view(), name="api-templates"),
    path("auth/token/", api.TokenView.as_view(), name="api-token"),
    re_path(
        r"^invitations/(?P<token>[A-Za-z0-9_-]{1,64})/accept/$",
        api.AcceptInvitationView.as_view(),
        name="api-invitation-accept",
    ),
    *router.urls,
]
