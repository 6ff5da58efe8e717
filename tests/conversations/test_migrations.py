"""Teams moving from agents into the core keep every row of an existing database."""

from datetime import time

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_THE_MOVE = [("agents", "0004_business_hours"), ("conversations", "0004_search")]


def migrate(targets: list[tuple[str, str]]):
    """Migrate the test database to `targets`; returns the models as they were there."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def old_database():
    """The schema before the move; the latest one again afterwards, whatever happens."""
    apps = migrate(BEFORE_THE_MOVE)
    yield apps
    migrate(latest())


def fill_old_database(apps) -> dict:
    User = apps.get_model("auth", "User")
    Agent = apps.get_model("agents", "Agent")
    Team = apps.get_model("agents", "Team")
    BusinessHours = apps.get_model("agents", "BusinessHours")
    CannedResponse = apps.get_model("agents", "CannedResponse")
    Customer = apps.get_model("conversations", "Customer")
    Conversation = apps.get_model("conversations", "Conversation")

    support = Team.objects.create(name="Support", is_default=True, time_zone="Europe/Istanbul")
    billing = Team.objects.create(name="Billing", time_zone="UTC")
    ayse, bob = (
        Agent.objects.create(user=User.objects.create(username=email, email=email))
        for email in ("ayse@example.com", "bob@example.com")
    )
    ayse.teams.add(support, billing)
    bob.teams.add(billing)
    User.objects.create(username="not-an-agent@example.com")
    BusinessHours.objects.create(team=support, weekday=0, opens=time(9), closes=time(17))
    CannedResponse.objects.create(shortcut="hi", body="Hello", team=billing)
    CannedResponse.objects.create(shortcut="bye", body="Bye")
    ContentType = apps.get_model("contenttypes", "ContentType")
    team_type, _ = ContentType.objects.get_or_create(app_label="agents", model="team")
    ContentType.objects.filter(app_label="conversations", model="team").delete()
    customer = Customer.objects.create(name="Liam", token="t-1")
    conversations = {
        team.pk if team else None: Conversation.objects.create(customer=customer, team=team).pk
        for team in (support, billing, None)
    }
    return {
        "teams": {
            (support.pk, "Support", True, "Europe/Istanbul"),
            (billing.pk, "Billing", False, "UTC"),
        },
        "memberships": {
            (support.pk, ayse.pk),
            (billing.pk, ayse.pk),
            (billing.pk, bob.pk),
        },
        "conversations": {(pk, team) for team, pk in conversations.items()},
        "hours": {(support.pk, 0, time(9), time(17))},
        "canned": {("hi", billing.pk), ("bye", None)},
        "content_type": team_type.pk,
    }


def test_an_existing_database_keeps_every_team_row_through_the_move(old_database):
    expected = fill_old_database(old_database)

    apps = migrate(latest())

    Team = apps.get_model("conversations", "Team")
    TeamMembership = apps.get_model("conversations", "TeamMembership")
    Conversation = apps.get_model("conversations", "Conversation")
    BusinessHours = apps.get_model("agents", "BusinessHours")
    CannedResponse = apps.get_model("agents", "CannedResponse")
    assert Team._meta.db_table == "conversations_team"
    teams = Team.objects.values_list("pk", "name", "is_default", "time_zone")
    assert set(teams) == expected["teams"]
    assert set(TeamMembership.objects.values_list("team", "user")) == expected["memberships"]
    assert set(Conversation.objects.values_list("pk", "team")) == expected["conversations"]
    hours = BusinessHours.objects.values_list("team", "weekday", "opens", "closes")
    assert set(hours) == expected["hours"]
    assert set(CannedResponse.objects.values_list("shortcut", "team")) == expected["canned"]
    ContentType = apps.get_model("contenttypes", "ContentType")
    moved = ContentType.objects.get(pk=expected["content_type"])
    assert (moved.app_label, moved.model) == ("conversations", "team")  # permissions follow
    newer = Team.objects.create(name="Sales")  # the id sequence came along with the table
    assert newer.pk > max(team[0] for team in expected["teams"])


def test_going_back_returns_the_memberships_of_agents(old_database):
    expected = fill_old_database(old_database)
    migrate(latest())

    apps = migrate(BEFORE_THE_MOVE)

    Agent = apps.get_model("agents", "Agent")
    Team = apps.get_model("agents", "Team")
    memberships = Agent.teams.through.objects.values_list("team", "agent")
    assert set(memberships) == expected["memberships"]
    assert (
        set(Team.objects.values_list("pk", "name", "is_default", "time_zone"))
        == (expected["teams"])
    )


# --- 0019: imported web and email history filed under the home inboxes ----------------------

BEFORE_FILING = [("conversations", "0018_attachment_name_indexes")]


@pytest.fixture
def unfiled_database():
    """The schema before 0019; the latest one again afterwards, whatever happens."""
    apps = migrate(BEFORE_FILING)
    yield apps
    migrate(latest())


def test_imported_web_and_email_history_goes_in_the_home_inboxes(unfiled_database):
    apps = unfiled_database
    Inbox = apps.get_model("conversations", "Inbox")
    Customer = apps.get_model("conversations", "Customer")
    Conversation = apps.get_model("conversations", "Conversation")
    web, email = (  # 0017 made them (a test's database is emptied between tests)
        Inbox.objects.get_or_create(channel=channel, defaults={"name": channel})[0]
        for channel in ("web", "email")
    )
    telegram = Inbox.objects.create(channel="telegram", name="Shop bot")
    customer = Customer.objects.create(name="Liam", token="t-0019")

    def conversation(channel: str, external_id: str | None, inbox=None) -> int:
        return Conversation.objects.create(
            customer=customer, channel=channel, external_id=external_id, inbox=inbox
        ).pk

    imported_web = conversation("web", "zd-1")
    imported_email = conversation("email", "zd-2")
    imported_whatsapp = conversation("whatsapp", "zd-3")  # came through no inbox: stays so
    filed_already = conversation("web", "zd-4", inbox=web)
    live_unfiled = conversation("web", None)  # live, its inbox deleted: not history's to file
    live_telegram = conversation("telegram", None, inbox=telegram)

    apps = migrate(latest())

    Conversation = apps.get_model("conversations", "Conversation")
    inboxes = dict(Conversation.objects.values_list("pk", "inbox"))
    assert inboxes == {
        imported_web: web.pk,
        imported_email: email.pk,
        imported_whatsapp: None,
        filed_already: web.pk,
        live_unfiled: None,
        live_telegram: telegram.pk,
    }
    assert apps.get_model("conversations", "Inbox").objects.count() == 3  # none made


def test_a_deleted_home_inbox_is_made_again_for_its_history(unfiled_database):
    apps = unfiled_database
    Inbox = apps.get_model("conversations", "Inbox")
    Customer = apps.get_model("conversations", "Customer")
    Conversation = apps.get_model("conversations", "Conversation")
    Inbox.objects.filter(channel="email").delete()  # an operator deleted it in the admin
    customer = Customer.objects.create(name="Liam", token="t-0019-b")
    imported = Conversation.objects.create(customer=customer, channel="email", external_id="x")

    apps = migrate(latest())

    Inbox = apps.get_model("conversations", "Inbox")
    email = Inbox.objects.get(channel="email")
    assert email.name == "Email"
    assert apps.get_model("conversations", "Conversation").objects.get(pk=imported.pk).inbox_id == (
        email.pk
    )


def test_going_back_before_0019_leaves_history_filed(unfiled_database):
    apps = unfiled_database
    Customer = apps.get_model("conversations", "Customer")
    Conversation = apps.get_model("conversations", "Conversation")
    customer = Customer.objects.create(name="Liam", token="t-0019-c")
    imported = Conversation.objects.create(customer=customer, channel="web", external_id="y")
    apps = migrate(latest())
    web = apps.get_model("conversations", "Inbox").objects.get(channel="web").pk

    apps = migrate(BEFORE_FILING)

    # The earlier code files imports the same way, so this is a state it knows.
    assert apps.get_model("conversations", "Conversation").objects.get(pk=imported.pk).inbox_id == (
        web
    )
