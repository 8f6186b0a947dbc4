"""/api/teams/: your teams, members, roles, removal and leaving (a team always keeps an admin)."""

from graphs.models import Membership


def test_you_list_only_your_teams_with_your_role(bob_api, charlie_api, team):
    body = bob_api.get("/api/teams/").json()
    assert [(t["slug"], t["role"], t["member_count"]) for t in body["results"]] == [("vision-lab", "editor", 2)]
    assert charlie_api.get("/api/teams/").json()["results"] == []


def test_creating_a_team_makes_you_its_admin(charlie_api):
    response = charlie_api.post("/api/teams/", {"name": "Audio Group"})
    assert response.status_code == 201
    assert response.json() == {**response.json(), "slug": "audio-group", "role": "admin", "member_count": 1}


def test_a_team_is_a_404_for_outsiders(charlie_api, team):
    assert charlie_api.get("/api/teams/vision-lab/").status_code == 404
    assert charlie_api.get("/api/teams/vision-lab/members/").status_code == 404


def test_members_are_listed_with_their_roles(bob_api, team):
    body = bob_api.get("/api/teams/vision-lab/members/").json()
    assert [(m["username"], m["role"]) for m in body] == [("alice", "admin"), ("bob", "editor")]


def test_an_admin_changes_roles(alice_api, team):
    response = alice_api.patch("/api/teams/vision-lab/members/bob/", {"role": "viewer"})
    assert response.status_code == 200 and response.json()["role"] == "viewer"


def test_an_editor_cannot_change_roles(bob_api, team):
    response = bob_api.patch("/api/teams/vision-lab/members/bob/", {"role": "admin"})
    assert response.status_code == 403
    assert response.json() == {"detail": "You may view this team but not change roles (admins can)."}


def test_the_last_admin_cannot_be_demoted_or_leave(alice_api, team):
    response = alice_api.patch("/api/teams/vision-lab/members/alice/", {"role": "editor"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Vision Lab needs an admin: make another member admin before demoting its last one."
    }
    assert alice_api.post("/api/teams/vision-lab/leave/").status_code == 400
    assert Membership.objects.get(user__username="alice").role == "admin"


def test_an_admin_removes_a_member(alice_api, bob_api, team):
    assert alice_api.delete("/api/teams/vision-lab/members/bob/").status_code == 204
    assert bob_api.get("/api/teams/vision-lab/").status_code == 404


def test_a_member_leaves(bob_api, team):
    assert bob_api.post("/api/teams/vision-lab/leave/").status_code == 204
    assert not Membership.objects.filter(user__username="bob").exists()


def test_removing_someone_who_is_not_a_member_is_a_404(alice_api, charlie, team):
    assert alice_api.delete("/api/teams/vision-lab/members/charlie/").status_code == 404
