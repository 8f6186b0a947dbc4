"""The Content-Security-Policy: on every page the site renders, and no page relies on what it forbids.

The walk covers every named route of the pages (graphs, runs, accounts, site), the admin, the API docs, the
browsable API and the error pages; every HTML answer must carry the policy and no inline ``<script>`` other
than JSON data blocks. The browser half (no violation reported, the canvas and the docs working, no
third-party request) is tests/e2e/test_e2e_csp.py.
"""

import json
import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from graphs import services
from graphs.models import ExportArtifact
from training.models import Dataset, Run, Status

pytestmark = pytest.mark.django_db

POLICY = "Content-Security-Policy"
URLCONFS = ("graphs.urls", "training.urls", "torchcanvas_site.urls")


class InlineScripts(HTMLParser):
    """Collects the ``<script>`` tags that have no ``src`` and are not JSON data."""

    def __init__(self):
        super().__init__()
        self.inline: list[str] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._open = dict(attrs)

    def handle_data(self, data):
        if self._open is not None and "src" not in self._open and self._open.get("type") != "application/json":
            if data.strip():
                self.inline.append(data.strip()[:80])

    def handle_endtag(self, tag):
        if tag == "script":
            self._open = None


def inline_scripts(html: str) -> list[str]:
    parser = InlineScripts()
    parser.feed(html)
    return parser.inline


def route_names(urlconf: str) -> list[tuple[str, list[str]]]:
    """(name, parameter names) of every named route of ``urlconf`` itself (includes are walked elsewhere)."""
    names = []
    for pattern in get_resolver(urlconf).url_patterns:
        if isinstance(pattern, URLPattern) and pattern.name:
            names.append((pattern.name, list(pattern.pattern.converters)))
        elif not isinstance(pattern, (URLPattern, URLResolver)):
            raise AssertionError(f"unexpected pattern {pattern!r}")
    return names


@pytest.fixture
def world(alice, bob, team, team_graph, team_block, artifact_storage):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    run = Run.objects.create(version=team_graph.head, user=alice, status=Status.SUCCEEDED, config={"steps": 3})
    invitation = services.invite(team, alice, "viewer")
    # The value of each route parameter, by route name where ``pk`` means different objects.
    shapes = Dataset.objects.get(builtin="shapes-16")
    pk = {"run": run.pk, "composite": team_block.pk, "team-invite": invitation.pk, "dataset": shapes.pk}
    values = {"slug": team.slug, "number": 1, "fmt": "py", "user_id": bob.pk, "token": invitation.token}
    values["name"] = "hybridcmi"
    values["index"] = 0
    artifact = ExportArtifact.objects.create(version=team_graph.head, format="torchscript", status="ready")
    artifact.file.save("shared_cmi_v1.pt", ContentFile(b"weights"))
    values["artifact_id"] = artifact.pk
    return {"graph": team_graph.pk, "pk": pk, "values": values, "builtin": "SEBlock"}


def kwargs_for(name: str, params: list[str], world) -> dict:
    kwargs = {}
    for param in params:
        if param == "pk":
            prefix = next((p for p in world["pk"] if name.startswith(p)), None)
            kwargs["pk"] = world["pk"][prefix] if prefix else world["graph"]
        elif param == "name" and name == "builtin-block-detail":
            kwargs["name"] = world["builtin"]
        else:
            kwargs[param] = world["values"][param]
    return kwargs


def assert_policy(response, url: str) -> None:
    assert POLICY in response, f"{url} ({response.status_code}) has no {POLICY}"
    if response.get("Content-Type", "").startswith("text/html"):
        scripts = inline_scripts(response.content.decode())
        assert not scripts, f"{url} has inline scripts: {scripts}"


def test_every_page_of_the_site_carries_the_policy_and_no_inline_script(world, alice):
    client = Client()
    client.force_login(alice)
    walked = 0
    for urlconf in URLCONFS:
        for name, params in route_names(urlconf):
            url = reverse(name, kwargs=kwargs_for(name, params, world))
            response = client.get(url, HTTP_ACCEPT="text/html")
            assert response.status_code < 500, url
            assert_policy(response, url)
            walked += 1
    assert walked > 40


def test_the_admin_carries_the_policy_and_no_inline_script(world, alice):
    client = Client()
    client.force_login(alice)
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        opts = model._meta
        urls += [
            reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
            reverse(f"admin:{opts.app_label}_{opts.model_name}_add"),
        ]
        first = model._default_manager.first()
        if first is not None:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk]))
    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 403), url
        assert_policy(response, url)


@pytest.mark.parametrize(
    "url",
    ["/api/docs/", "/api/redoc/", "/api/graphs/", "/no-such-page/", "/api/no-such-endpoint/", "/accounts/login/"],
)
def test_docs_browsable_api_and_error_pages_carry_the_policy(url, alice):
    client = Client()
    client.force_login(alice)
    response = client.get(url, HTTP_ACCEPT="text/html")
    assert response.status_code in (200, 404), url
    assert_policy(response, url)


def test_the_policy_allows_only_the_site_itself(client):
    policy = dict(part.split(" ", 1) for part in client.get("/").headers[POLICY].split("; "))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self' ws://testserver"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'self'"
    assert policy["form-action"] == "'self'"


def test_the_policy_can_be_sent_report_only(client, settings):
    settings.CSP_REPORT_ONLY = True
    response = client.get("/")
    assert POLICY not in response
    assert "default-src 'self'" in response.headers[f"{POLICY}-Report-Only"]


def test_swagger_ui_starts_from_a_same_origin_script(client):
    html = client.get("/api/docs/").content.decode()
    assert '<script src="/api/docs/?script="></script>' in html
    assert "<style>" not in html
    script = client.get("/api/docs/?script=")
    assert script["Content-Type"] == "application/javascript"
    assert "SwaggerUIBundle" in script.content.decode()


def test_redoc_makes_no_third_party_request(client):
    response = client.get("/api/redoc/")
    html = response.content.decode()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), html
    assert '<script src="/api/redoc/redoc.standalone.js"></script>' in html
    assert "worker-src 'self' blob:" in response.headers[POLICY]
    bundle = client.get("/api/redoc/redoc.standalone.js").content.decode()
    assert "cdn.redoc.ly" not in bundle
    assert "Redoc" in bundle


def test_redoc_is_set_to_fonts_of_the_system_not_the_web_fonts_of_its_default_theme(client):
    html = client.get("/api/redoc/").content.decode()
    settings = json.loads(html.split('<script id="redoc-settings" type="application/json">')[1].split("</script>")[0])
    typography = settings["theme"]["typography"]
    for font in (typography["fontFamily"], typography["headings"]["fontFamily"], typography["code"]["fontFamily"]):
        assert font.startswith(("system-ui", "ui-monospace")) and "Montserrat" not in font
    assert "googleapis" not in html and "gstatic" not in html


def test_the_canvas_gets_a_style_nonce_for_codemirror_that_the_policy_allows(alice_client, team_graph):
    response = alice_client.get(reverse("graph-canvas", args=[team_graph.pk]))
    boot = json.loads(
        re.search(r'id="canvas-boot" type="application/json">(.*?)</script>', response.content.decode())[1]
    )
    policy = dict(part.split(" ", 1) for part in response.headers[POLICY].split("; "))
    assert policy["style-src"] == f"'self' 'nonce-{boot['styleNonce']}'"
    assert len(boot["styleNonce"]) >= 22
    again = alice_client.get(reverse("graph-canvas", args=[team_graph.pk]))
    assert boot["styleNonce"] not in again.headers[POLICY]  # a fresh one per response
