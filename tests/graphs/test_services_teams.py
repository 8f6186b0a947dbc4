"""graphs.services: teams, roles, invitations, and the rule that a team always keeps an admin."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from graphs import services
from graphs.models import Invitation, Membership, Role, Team


def roles(team) -> dict[str, str]:
    return {m.user.username: m.role for m in team.memberships.select_related("user")}


def test_the_creator_becomes_the_admin(alice):
    team = services.create_team(alice, "  Vision Lab ")
    assert (team.name, team.slug) == ("Vision Lab", "vision-lab")
    assert roles(team) == {"alice": "admin"}


def test_slugs_stay_unique(alice, bob):
    first = services.create_team(alice, "Vision Lab")
    second = services.create_team(bob, "Vision  lab!")
    third = services.create_team(bob, "Vision Lab")
    assert [first.slug, second.slug, third.slug] == ["vision-lab", "vision-lab-2", "vision-lab-3"]


def test_a_name_without_letters_still_gets_a_slug(alice):
    assert services.create_team(alice, "???").slug == "team"


def test_team_names_are_checked(alice):
    with pytest.raises(services.ServiceError, match="^name: may not be blank.$"):
        services.create_team(alice, "   ")
    assert not Team.objects.exists()


def test_an_admin_invites_and_the_link_lets_someone_join(alice, charlie, team):
    invitation = services.invite(team, alice, "viewer")
    assert invitation.usable and invitation.expires_at > timezone.now() + timedelta(days=6)
    membership = services.accept_invitation(invitation.token, charlie)
    assert membership.role == "viewer"
    invitation.refresh_from_db()
    assert invitation.accepted_by == charlie and not invitation.usable


def test_an_invitation_works_once(alice, bob, charlie, django_user_model, team):
    invitation = services.invite(team, alice, "editor")
    services.accept_invitation(invitation.token, charlie)
    dave = django_user_model.objects.create_user("dave")
    with pytest.raises(services.ServiceError, match="^This invitation has already been used; ask for a new one.$"):
        services.accept_invitation(invitation.token, dave)


def test_an_expired_invitation_is_refused(alice, charlie, team):
    invitation = services.invite(team, alice, "editor")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(services.ServiceError, match="^This invitation has expired; ask for a new one.$"):
        services.accept_invitation(invitation.token, charlie)
    assert not Membership.objects.filter(user=charlie).exists()


def test_a_revoked_or_unknown_invitation_is_a_404(alice, charlie, team):
    invitation = services.invite(team, alice, "editor")
    services.revoke_invitation(team, alice, invitation)
    with pytest.raises(Http404):
        services.accept_invitation(invitation.token, charlie)
    with pytest.raises(Http404):
        services.accept_invitation("no-such-token", charlie)


def test_a_member_who_opens_an_invitation_keeps_their_role(alice, bob, team):
    invitation = services.invite(team, alice, "admin")
    assert services.accept_invitation(invitation.token, bob).role == "editor"
    assert Invitation.objects.get(pk=invitation.pk).usable  # not used up by someone already inside


def test_only_admins_invite(bob, charlie, team):
    with pytest.raises(PermissionDenied, match="^You may view this team but not invite people \\(admins can\\).$"):
        services.invite(team, bob, "editor")
    with pytest.raises(Http404):
        services.invite(team, charlie, "editor")


def test_an_invitation_needs_a_real_role(alice, team):
    with pytest.raises(services.ServiceError, match="^role: expected one of viewer, editor, admin.$"):
        services.invite(team, alice, "owner")


def test_a_member_leaves(bob, team):
    services.leave_team(team, bob)
    assert roles(team) == {"alice": "admin"}


def test_the_last_admin_cannot_leave(alice, team):
    with pytest.raises(
        services.ServiceError, match="^Vision Lab needs an admin: make another member admin before leaving.$"
    ):
        services.leave_team(team, alice)
    assert roles(team)["alice"] == "admin"


def test_an_admin_may_leave_once_there_is_another(alice, bob, team):
    services.set_role(team, alice, bob, "admin")
    services.leave_team(team, alice)
    assert roles(team) == {"bob": "admin"}


def test_the_last_admin_cannot_be_demoted(alice, team):
    with pytest.raises(services.ServiceError, match="demoting its last one"):
        services.set_role(team, alice, alice, "editor")


def test_the_last_admin_cannot_be_removed_even_by_an_admin_who_is_leaving(alice, bob, team):
    services.set_role(team, alice, bob, "admin")
    services.remove_member(team, bob, alice)
    with pytest.raises(services.ServiceError, match="needs an admin"):
        services.remove_member(team, bob, bob)
    assert roles(team) == {"bob": "admin"}


def test_admins_remove_members_and_change_roles(alice, bob, charlie, team):
    Membership.objects.create(team=team, user=charlie, role=Role.VIEWER)
    services.set_role(team, alice, charlie, "editor")
    services.remove_member(team, alice, bob)
    assert roles(team) == {"alice": "admin", "charlie": "editor"}


def test_editors_cannot_manage_members(alice, bob, team):
    with pytest.raises(PermissionDenied):
        services.remove_member(team, bob, alice)
    with pytest.raises(PermissionDenied):
        services.set_role(team, bob, bob, "admin")


def test_removing_a_stranger_is_a_404(alice, charlie, team):
    with pytest.raises(Http404):
        services.remove_member(team, alice, charlie)
