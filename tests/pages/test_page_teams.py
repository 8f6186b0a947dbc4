"""Team pages: create, members and roles (htmx), remove, invitations, accept, leave."""

import pytest

from graphs import services
from graphs.models import Invitation, Membership, Role

pytestmark = pytest.mark.django_db


def _role(team, username):
    return Membership.objects.get(team=team, user__username=username).role


def test_creating_a_team_makes_me_its_admin(charlie_client, charlie):
    assert "You are not in a team yet." in charlie_client.get("/teams/").content.decode()
    response = charlie_client.post("/teams/", {"name": "Vision Group"})
    assert response.status_code == 302 and response.url == "/teams/vision-group/"
    html = charlie_client.get(response.url).content.decode()
    assert "Vision Group" in html and "Create invitation link" in html
    assert Membership.objects.get(user=charlie).role == Role.ADMIN


def test_a_blank_team_name_is_an_inline_error(charlie_client):
    response = charlie_client.post("/teams/", {"name": ""})
    assert response.status_code == 200 and "This field is required." in response.content.decode()


def test_the_team_page_is_for_members_only(alice_client, bob_client, charlie_client, client, team):
    admin = alice_client.get("/teams/lab/").content.decode()
    assert "alice" in admin and "bob" in admin and 'name="role"' in admin and "Invitations" in admin
    member = bob_client.get("/teams/lab/").content.decode()
    assert "bob" in member and 'hx-post="/teams/lab/members/' not in member and "Invitations" not in member
    assert charlie_client.get("/teams/lab/").status_code == 404
    assert client.get("/teams/lab/").status_code == 302  # to the login page


def test_an_admin_changes_a_role_with_htmx(alice_client, bob, team):
    response = alice_client.post(f"/teams/lab/members/{bob.pk}/role/", {"role": "viewer"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.templates[0].name == "teams/_member_row.html"
    assert '<option value="viewer" selected>' in response.content.decode()
    assert _role(team, "bob") == Role.VIEWER


def test_the_last_admin_cannot_be_demoted_and_the_row_says_why(alice_client, alice, team):
    response = alice_client.post(f"/teams/lab/members/{alice.pk}/role/", {"role": "editor"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Lab needs an admin" in response.content.decode()
    assert _role(team, "alice") == Role.ADMIN


def test_role_change_without_javascript_redirects_with_a_message(alice_client, bob, team):
    response = alice_client.post(f"/teams/lab/members/{bob.pk}/role/", {"role": "admin"}, follow=True)
    assert "bob is now admin." in response.content.decode()


def test_members_who_are_not_admins_cannot_manage(bob_client, charlie_client, alice, team):
    assert bob_client.post(f"/teams/lab/members/{alice.pk}/role/", {"role": "viewer"}).status_code == 403
    assert bob_client.post(f"/teams/lab/members/{alice.pk}/remove/").status_code == 403
    assert bob_client.post("/teams/lab/invitations/", {"role": "admin"}).status_code == 403
    assert charlie_client.post(f"/teams/lab/members/{alice.pk}/role/", {"role": "viewer"}).status_code == 404
    assert _role(team, "alice") == Role.ADMIN


def test_an_admin_removes_a_member(alice_client, bob, team):
    response = alice_client.post(f"/teams/lab/members/{bob.pk}/remove/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response.content == b""
    assert not Membership.objects.filter(team=team, user=bob).exists()


def test_the_invitation_flow(alice_client, charlie_client, charlie, team):
    # alice creates a link (htmx answers the invitations fragment with the new link highlighted) ...
    response = alice_client.post("/teams/lab/invitations/", {"role": "viewer"}, HTTP_HX_REQUEST="true")
    assert response.templates[0].name == "teams/_invitations.html"
    invitation = Invitation.objects.filter(team=team, role="viewer").get()
    html = response.content.decode()
    assert f"http://testserver/invite/{invitation.token}/" in html and "copy it now" in html
    # ... charlie opens it, sees who invites him, and joins.
    page = charlie_client.get(f"/invite/{invitation.token}/").content.decode()
    assert "Join Lab" in page and "alice invites you" in page
    joined = charlie_client.post(f"/invite/{invitation.token}/")
    assert joined.status_code == 302 and joined.url == "/teams/lab/"
    assert _role(team, "charlie") == Role.VIEWER
    # A used link says so.
    other = services.create_team(charlie, "Elsewhere")
    assert other and charlie_client.get(f"/invite/{invitation.token}/").status_code == 200  # already a member


def test_without_javascript_the_inviter_lands_on_the_link(alice_client, team):
    response = alice_client.post("/teams/lab/invitations/", {"role": "editor"}, follow=True)
    invitation = Invitation.objects.filter(team=team, accepted_at__isnull=True).latest("created_at")
    html = response.content.decode()
    assert f"/invite/{invitation.token}/" in html and "copy it now" in html


def test_a_revoked_or_unknown_link_is_a_friendly_page(alice_client, charlie_client, alice, team):
    invitation = services.invite(team, alice, Role.EDITOR)
    response = alice_client.post(f"/teams/lab/invitations/{invitation.pk}/revoke/", HTTP_HX_REQUEST="true")
    assert response.templates[0].name == "teams/_invitations.html"
    assert invitation.token not in response.content.decode()
    page = charlie_client.get(f"/invite/{invitation.token}/")
    assert page.status_code == 410 and "It was revoked." in page.content.decode()
    assert charlie_client.post(f"/invite/{invitation.token}/").status_code == 410
    assert not Membership.objects.filter(team=team, user__username="charlie").exists()
    assert charlie_client.get("/invite/not-a-token/").status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in_and_back(client, alice, team):
    invitation = services.invite(team, alice, Role.EDITOR)
    response = client.get(f"/invite/{invitation.token}/")
    assert response.status_code == 302 and response.url == f"/accounts/login/?next=/invite/{invitation.token}/"


def test_leaving_a_team(bob_client, alice_client, team):
    response = bob_client.post("/teams/lab/leave/")
    assert response.status_code == 302 and response.url == "/teams/"
    assert not Membership.objects.filter(team=team, user__username="bob").exists()
    # The last admin may not leave.
    refused = alice_client.post("/teams/lab/leave/", follow=True)
    assert "Lab needs an admin" in refused.content.decode()
    assert _role(team, "alice") == Role.ADMIN


def test_leaving_through_the_confirmation_loads_the_team_list(bob_client, team):
    response = bob_client.post("/teams/lab/leave/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Redirect"] == "/teams/"
    assert not Membership.objects.filter(team=team, user__username="bob").exists()


def test_an_invitation_link_has_a_copy_button_run_by_the_pages_own_script(alice_client, team):
    alice_client.post("/teams/lab/invitations/", {"role": "editor"})
    invitation = Invitation.objects.filter(team=team).latest("created_at")
    html = alice_client.get("/teams/lab/").content.decode()
    field = f'id="invite-url-{invitation.pk}" value="http://testserver/invite/{invitation.token}/"'
    assert field in html  # the link itself, to select and copy by hand where the button cannot
    assert f'data-copy="invite-url-{invitation.pk}">Copy</button>' in html
    assert '<script src="/static/js/copy.js" defer></script>' in html
    assert "onfocus=" not in html  # an inline handler the Content-Security-Policy would block
