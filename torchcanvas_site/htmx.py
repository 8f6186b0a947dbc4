"""Answers shared by the page views of every app."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django_htmx.http import HttpResponseClientRedirect


def go(request: HttpRequest, to, *args) -> HttpResponse:
    """Redirect after a form post. Forms that ask for confirmation post through htmx (``hx-confirm`` only
    guards htmx requests): those get the whole next page loaded, not swapped into the form."""
    destination = resolve_url(to, *args)
    return HttpResponseClientRedirect(destination) if request.htmx else redirect(destination)
