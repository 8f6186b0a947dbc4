from django.urls import path

from graphs import engine_views

urlpatterns = [
    path("registry/", engine_views.RegistryView.as_view(), name="api-registry"),
    path("validate/", engine_views.ValidateView.as_view(), name="api-validate"),
    path("codegen/", engine_views.CodegenView.as_view(), name="api-codegen"),
    path("export/zip/", engine_views.ExportZipView.as_view(), name="api-export-zip"),
]
