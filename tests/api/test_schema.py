"""The OpenAPI schema generates without warnings, and the docs need no CDN."""

from django.core.management import call_command

ENGINE_PATHS = {"/api/registry/", "/api/validate/", "/api/codegen/", "/api/export/zip/"}


def test_the_openapi_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_the_schema_endpoint_lists_the_engine_endpoints(api_client):
    response = api_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert ENGINE_PATHS <= schema["paths"].keys()
    assert "/api/{path}" not in schema["paths"]


def test_the_docs_pages_serve_swagger_and_redoc_from_our_static_files(api_client):
    swagger = api_client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in swagger
    redoc = api_client.get("/api/redoc/").content.decode()
    assert '<script src="/api/redoc/redoc.standalone.js">' in redoc  # the sidecar's bundle without its CDN logo
    assert "cdn" not in (swagger + redoc).lower()
