"""Team invitations: admins create, list and revoke links; anyone logged in accepts one."""

from graphs.models import Invitation, Membership


def invite(client, role="editor"):
    return client.post("/api/teams/vision-lab/invitations/", {"role": role})


def test_an_admin_creates_an_invitation_link(alice_api, team):
    response = invite(alice_api, "viewer")
    assert response.status_code == 201
    body = response.json()
    assert body["role"] == "viewer" and body["usable"] is True and body["created_by"] == "alice"
    assert body["accept_url"] == f"http://testserver/api/invitations/{body['token']}/accept/"


def test_the_link_lets_someone_join(alice_api, charlie_api, team):
    token = invite(alice_api, "viewer").json()["token"]
    response = charlie_api.post(f"/api/invitations/{token}/accept/")
    assert response.status_code == 200
    assert (response.json()["slug"], response.json()["role"]) == ("vision-lab", "viewer")
    assert charlie_api.get("/api/teams/vision-lab/").status_code == 200


def test_a_used_link_cannot_be_used_again(alice_api, charlie_api, django_user_model, team):
    token = invite(alice_api).json()["token"]
    charlie_api.post(f"/api/invitations/{token}/accept/")
    from rest_framework.test import APIClient

    dave = APIClient()
    dave.force_authenticate(django_user_model.objects.create_user("dave"))
    response = dave.post(f"/api/invitations/{token}/accept/")
    assert response.status_code == 400
    assert response.json() == {"detail": "This invitation has already been used; ask for a new one."}


def test_an_unknown_token_is_a_404(charlie_api, team):
    assert charlie_api.post("/api/invitations/not-a-token/accept/").status_code == 404


def test_accepting_needs_a_login(api_client, alice_api, team):
    token = invite(alice_api).json()["token"]
    assert api_client.post(f"/api/invitations/{token}/accept/").status_code == 401


def test_only_admins_see_and_make_invitations(bob_api, charlie_api, alice_api, team):
    invite(alice_api)
    assert len(alice_api.get("/api/teams/vision-lab/invitations/").json()) == 1
    assert bob_api.get("/api/teams/vision-lab/invitations/").status_code == 403
    assert invite(bob_api).status_code == 403
    assert charlie_api.get("/api/teams/vision-lab/invitations/").status_code == 404


def test_an_admin_revokes_an_invitation(alice_api, bob_api, charlie_api, team):
    body = invite(alice_api).json()
    assert bob_api.delete(f"/api/teams/vision-lab/invitations/{body['id']}/").status_code == 403
    assert alice_api.delete(f"/api/teams/vision-lab/invitations/{body['id']}/").status_code == 204
    assert Invitation.objects.get().revoked
    assert charlie_api.post(f"/api/invitations/{body['token']}/accept/").status_code == 404
    assert not Membership.objects.filter(user__username="charlie").exists()


def test_an_invitation_of_another_team_cannot_be_revoked_through_yours(alice, alice_api, charlie, team):
    from graphs import services

    other = services.create_team(charlie, "Other")
    foreign = services.invite(other, charlie, "editor")
    assert alice_api.delete(f"/api/teams/vision-lab/invitations/{foreign.pk}/").status_code == 404
    assert not Invitation.objects.get(pk=foreign.pk).revoked
