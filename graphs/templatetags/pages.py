"""Small template helpers for the pages: navigation links, code highlighting, number formatting."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString

from graphs.highlight import highlight_python

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_link(context, url_name: str, label: str) -> SafeString:
    """A nav bar link, marked as the current page when the request path is under it."""
    url = reverse(url_name)
    request = context.get("request")
    current = request is not None and request.path.startswith(url)
    if current:
        return format_html('<a href="{}" class="active" aria-current="page">{}</a>', url, label)
    return format_html('<a href="{}">{}</a>', url, label)


@register.simple_tag(takes_context=True)
def next_query(context) -> str:
    """``?next=…`` carrying the page's own local ``next`` onto the header's Log in and Sign up links, else nothing.

    Someone sent to log in from an invitation link who clicks "Sign up" instead still lands on the invitation.
    """
    request = context.get("request")
    next_url = request.GET.get("next", "") if request else ""
    if not next_url or not url_has_allowed_host_and_scheme(
        next_url, {request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    return "?" + urlencode({"next": next_url})


@register.filter
def python(source: str) -> SafeString:
    """Syntax-highlighted HTML for Python source (use inside ``<pre><code>``)."""
    return highlight_python(source or "")


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


@register.filter
def compact(number) -> str:
    """11689512 → "11.7M", 79762 → "79.8k", None → "—"."""
    if number is None or number == "":
        return "—"
    number = int(number)
    for threshold, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if abs(number) >= threshold:
            return f"{number / threshold:.1f}{suffix}".replace(".0" + suffix, suffix)
    return str(number)


@register.filter
def words(value: str) -> str:
    """``"insert_node"`` → ``"insert node"``."""
    return str(value).replace("_", " ")
