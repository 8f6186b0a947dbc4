"""What happens to an account behind the pages' backs: failed log-ins are counted, and a new password
revokes the API token (a token is as good as the password: whoever changes a leaked password means to
lock out whoever holds it)."""

from __future__ import annotations

from rest_framework.authtoken.models import Token

from torchcanvas_site.throttling import login_failures


def count_failed_login(sender, credentials: dict, request=None, **kwargs) -> None:
    """``user_login_failed``: one more failure for the client address and the username tried."""
    if request is None:  # authenticate() called from a shell or a script, not someone at the door
        return
    username = credentials.get("username")
    login_failures.record(request, username if isinstance(username, str) else None)


def note_password_change(sender, instance, update_fields=None, **kwargs) -> None:
    """``pre_save`` of a user: remember whether the stored password hash is about to change.

    Every way to change a password ends here (the password page, the admin, ``set_password`` + ``save``,
    ``changepassword``, a reset), except Django's own re-hash of the *same* password at log-in when its
    hasher settings change: that saves ``update_fields=["password"]`` with ``_password`` cleared.
    """
    instance._password_hash_changed = False
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return
    if update_fields == frozenset({"password"}) and getattr(instance, "_password", None) is None:
        return  # a re-hash at log-in: the password is the same
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._password_hash_changed = stored is not None and stored != instance.password


def revoke_tokens_on_new_password(sender, instance, **kwargs) -> None:
    """``post_save`` of a user: a new password deletes the API token."""
    if getattr(instance, "_password_hash_changed", False):
        Token.objects.filter(user=instance).delete()
        instance._password_hash_changed = False
