"""The landing page, the login page and the ASGI entry point."""

from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.contrib.auth.hashers import make_password
from django.contrib.staticfiles import finders


def test_the_home_page_describes_the_product_and_links_to_the_api_docs(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Design PyTorch models as node graphs." in html
    assert 'href="/api/docs/"' in html
    assert 'href="/accounts/login/"' in html


def test_pages_load_htmx_from_our_own_static_files_and_send_the_csrf_token(client):
    html = client.get("/").content.decode()
    assert '<script src="/static/vendor/htmx.min.js" defer></script>' in html
    assert '<body hx-headers=\'{"X-CSRFToken": "' in html
    assert "cdn" not in html.lower()


def test_the_login_page_renders_a_form(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()


def test_a_user_can_log_in_and_out(client, django_user_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    django_user_model.objects.create(username="alice", password=make_password("s3cret-pass"))
    response = client.post("/accounts/login/", {"username": "alice", "password": "s3cret-pass"})
    assert response.status_code == 302 and response.url == "/dashboard/"
    assert "alice" in client.get("/").content.decode()
    assert client.post("/accounts/logout/").status_code == 302
    assert 'href="/accounts/login/"' in client.get("/").content.decode()


def test_the_asgi_application_serves_http():
    from torchcanvas_site.asgi import application

    communicator = HttpCommunicator(application, "GET", "/", headers=[(b"host", b"localhost")])
    response = async_to_sync(communicator.get_response)()
    assert response["status"] == 200
    assert b"TorchCanvas" in response["body"]


def test_favicon_ico_leads_to_the_brand_mark_and_pages_link_it(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response.url == "/static/favicon.svg"
    icon = finders.find("favicon.svg")  # what the static files serve under that name
    assert icon and open(icon).read().startswith("<svg")
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in client.get("/").content.decode()
