"""Forms of the pages. They check shape and size; the rules about graphs and teams live in services."""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm

from codegen.document import syntax_of
from graphs.models import Role, Team, Visibility


def teams_of(user, *, at_least: str = Role.VIEWER):
    """The teams where ``user`` holds ``at_least`` that role, for team pickers."""
    roles = {Role.VIEWER: list(Role), Role.EDITOR: [Role.EDITOR, Role.ADMIN], Role.ADMIN: [Role.ADMIN]}[at_least]
    return Team.objects.filter(memberships__user=user, memberships__role__in=roles).order_by("name")


class SignUpForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username",)


class GraphFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=120, label="Search")
    tag = forms.CharField(required=False, max_length=40)
    owner = forms.CharField(required=False, max_length=150)
    team = forms.CharField(required=False, max_length=80)


class RenameForm(forms.Form):
    name = forms.CharField(max_length=120)


class TeamPlacementMixin(forms.Form):
    """A visibility choice and a team picker limited to the user's teams."""

    visibility = forms.ChoiceField(choices=Visibility.choices, initial=Visibility.PRIVATE)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, empty_label="No team")
    placed = "graph"  # what the form places, in its messages

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams_of(user, at_least=Role.EDITOR)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("visibility") == Visibility.TEAM and not cleaned.get("team"):
            self.add_error("team", f"Pick the team that shares this {self.placed}, or choose another visibility.")
        return cleaned


class NewGraphForm(TeamPlacementMixin):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))

    field_order = ["name", "description", "visibility", "team"]


class ImportForm(TeamPlacementMixin):
    file = forms.FileField(required=False, label="JSON or YAML file")
    text = forms.CharField(
        required=False, label="…or paste the JSON or YAML", widget=forms.Textarea(attrs={"rows": 10})
    )
    name = forms.CharField(required=False, max_length=120, help_text="Leave empty to use the document's name.")

    field_order = ["file", "text", "name", "visibility", "team"]

    def clean(self):
        cleaned = super().clean()
        upload, text = cleaned.get("file"), (cleaned.get("text") or "").strip()
        if upload and text:
            raise forms.ValidationError("Upload a file or paste a document, not both.")
        if not upload and not text:
            raise forms.ValidationError("Upload a JSON or YAML file or paste a graph document.")
        limit = settings.TORCHCANVAS_LIMITS["max_body_bytes"]
        if upload:
            if upload.size > limit:
                raise forms.ValidationError(f"The file is {upload.size} bytes; the limit is {limit} bytes.")
            raw = upload.read()
            try:
                cleaned["raw"] = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise forms.ValidationError("The file is not UTF-8 text; export the graph as JSON.") from None
            cleaned["syntax"] = syntax_of(upload.name, upload.content_type)
        else:
            cleaned["raw"] = text
            cleaned["syntax"] = None  # pasted text: JSON when it opens with { or [, else YAML
        return cleaned


class UseTemplateForm(TeamPlacementMixin):
    name = forms.CharField(required=False, max_length=120)


class GraphSettingsForm(TeamPlacementMixin):
    """Description and tags (editors), visibility and team (admins: the view drops those fields otherwise)."""

    description = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    tags = forms.CharField(required=False, max_length=1000, help_text="Comma-separated, e.g. vision, resnet")

    field_order = ["description", "tags", "visibility", "team"]

    def __init__(self, *args, user, admin: bool, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        if not admin:
            del self.fields["visibility"]
            del self.fields["team"]

    def clean_tags(self) -> list[str]:
        """A list of names; services decide what a valid tag is."""
        return [tag.strip() for tag in self.cleaned_data["tags"].split(",") if tag.strip()]


class ForkForm(TeamPlacementMixin):
    """The fork page: a name, a version (the head when left out) and where the fork lives (private when left out)."""

    name = forms.CharField(required=False, max_length=120)
    version = forms.IntegerField(required=False, min_value=1)

    field_order = ["name", "version", "visibility", "team"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["visibility"].required = False


class RestoreForm(forms.Form):
    message = forms.CharField(required=False, max_length=500)


class TeamCreateForm(forms.Form):
    name = forms.CharField(max_length=80, label="Team name")


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class InviteForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, initial=Role.EDITOR, label="Invite as")


class PublishCompositeForm(forms.Form):
    name = forms.CharField(
        max_length=64, help_text="A CamelCase Python identifier, e.g. ConvBNReLU: the block's node type."
    )
    description = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    library = forms.ChoiceField(label="Library", required=False)
    definition = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "class": "mono"}),
        help_text="The block as JSON: params, nodes, edges, inputs and outputs (see the engine docs).",
    )
    message = forms.CharField(required=False, max_length=500, label="Version message")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.teams = {str(team.pk): team for team in teams_of(user, at_least=Role.EDITOR)}
        choices = [("", f"Personal ({user.get_username()})")]
        choices += [(key, f"Team: {team.name}") for key, team in self.teams.items()]
        self.fields["library"].choices = choices

    def clean_library(self) -> Team | None:
        value = self.cleaned_data["library"]
        return self.teams.get(value) if value else None

    def clean_definition(self) -> dict:
        try:
            definition = json.loads(self.cleaned_data["definition"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"This is not valid JSON: {exc.msg} (line {exc.lineno}).") from None
        if not isinstance(definition, dict):
            raise forms.ValidationError("The definition must be a JSON object with nodes, edges, inputs, outputs.")
        return definition
