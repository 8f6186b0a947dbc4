from django.apps import AppConfig


class SiteConfig(AppConfig):
    """The site itself: accounts, throttles and the API plumbing shared by the apps."""

    name = "torchcanvas_site"

    def ready(self) -> None:
        from django.conf import settings
        from django.contrib import admin
        from django.contrib.auth.signals import user_login_failed
        from django.db.models.signals import post_save, pre_save

        from torchcanvas_site import accounts
        from torchcanvas_site.throttling import AdminLoginForm

        admin.site.login_form = AdminLoginForm
        user_login_failed.connect(accounts.count_failed_login, dispatch_uid="torchcanvas-count-failed-login")
        pre_save.connect(accounts.note_password_change, sender=settings.AUTH_USER_MODEL, dispatch_uid="tc-pw-note")
        post_save.connect(accounts.revoke_tokens_on_new_password, sender=settings.AUTH_USER_MODEL, dispatch_uid="tc-pw")
