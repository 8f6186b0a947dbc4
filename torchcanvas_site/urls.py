from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from torchcanvas_site import api_docs, views
from torchcanvas_site.throttling import LoginForm, throttled_login

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/login/", throttled_login(auth_views.LoginView.as_view(authentication_form=LoginForm)), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/token/", views.account_token, name="account_token"),
    path("accounts/token/create/", views.account_token_create, name="account_token_create"),
    path("accounts/token/regenerate/", views.account_token_regenerate, name="account_token_regenerate"),
    path("accounts/token/revoke/", views.account_token_revoke, name="account_token_revoke"),
    path("admin/login/", throttled_login(admin.site.login)),  # the admin's own view, answering 429 when limited
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Both pages run under the Content-Security-Policy with no third-party request (torchcanvas_site/api_docs.py).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", api_docs.RedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("api/redoc/redoc.standalone.js", api_docs.redoc_bundle, name="api-redoc-bundle"),
    path("api/", include("graphs.api_urls")),
    path("api/", include("training.api_urls")),
    re_path(r"^api/(?P<path>.*)$", views.api_not_found),
    path("", include("graphs.urls")),
    path("", include("training.urls")),
]

handler400 = views.bad_request
handler500 = views.server_error
