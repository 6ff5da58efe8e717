"""Teams move into the core (conversations.Team): first their table takes the core's name.

The next steps are conversations 0008 (the model's state, and the membership table) and
agents 0006 (business hours and canned responses point at the core's Team, memberships
are copied, the agents' Team state is dropped). Every row stays where it is.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0004_business_hours"),
    ]

    operations = [
        migrations.AlterModelTable(name="team", table="conversations_team"),
    ]
