"""Teams now live in the core: business hours and canned responses point at
conversations.Team (same table, so state only), each agent's team memberships are copied
into conversations.TeamMembership (an agent's id is its user's id), and agents' own Team
and its membership table go. The team's content type moves too, so the permissions given
on teams and the admin's history of them stay.

Going back copies memberships of users who have an agent profile (the only ones the old
shape can hold).
"""

import django.db.models.deletion
from django.db import migrations, models

BATCH = 1000


def memberships_to_core(apps, schema_editor) -> None:
    Agent = apps.get_model("agents", "Agent")
    TeamMembership = apps.get_model("conversations", "TeamMembership")
    rows = Agent.teams.through.objects.order_by("pk").values_list("team_id", "agent_id")
    TeamMembership.objects.bulk_create(
        (TeamMembership(team_id=team, user_id=user) for team, user in rows.iterator(BATCH)),
        batch_size=BATCH,
    )


def memberships_to_agents(apps, schema_editor) -> None:
    Agent = apps.get_model("agents", "Agent")
    TeamMembership = apps.get_model("conversations", "TeamMembership")
    Through = Agent.teams.through
    rows = (
        TeamMembership.objects.filter(user__agent__isnull=False)
        .order_by("pk")
        .values_list("team_id", "user_id")
    )
    Through.objects.bulk_create(
        (Through(team_id=team, agent_id=user) for team, user in rows.iterator(BATCH)),
        batch_size=BATCH,
    )


def content_type_moves(source: str, target: str):
    def move(apps, schema_editor) -> None:
        ContentType = apps.get_model("contenttypes", "ContentType")
        if not ContentType.objects.filter(app_label=target, model="team").exists():
            ContentType.objects.filter(app_label=source, model="team").update(app_label=target)

    return move


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0005_team_table_to_core"),
        ("conversations", "0008_team"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="businesshours",
                    name="team",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="business_hours",
                        to="conversations.team",
                        verbose_name="team",
                    ),
                ),
                migrations.AlterField(
                    model_name="cannedresponse",
                    name="team",
                    field=models.ForeignKey(
                        blank=True,
                        help_text="Empty: shared by every team.",
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="canned_responses",
                        to="conversations.team",
                        verbose_name="team",
                    ),
                ),
            ],
        ),
        migrations.RunPython(memberships_to_core, memberships_to_agents),
        migrations.RunPython(
            content_type_moves("agents", "conversations"),
            content_type_moves("conversations", "agents"),
        ),
        migrations.RemoveField(model_name="agent", name="teams"),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Team")],
        ),
    ]
