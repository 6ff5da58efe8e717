"""Saved views of the inbox (/api/v1/views): filters as the list's, counts restricted to what
the agent may read, personal and shared views, and the list's `?view=`."""

import pytest

from conversations.models import SavedView
from conversations.services import conversation_assign, conversation_resolve, conversation_update

pytestmark = pytest.mark.django_db

VIEWS = "/api/v1/views"
LIST = "/api/v1/conversations"


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return sorted(conversation["id"] for conversation in response.json()["results"])


def by_name(response) -> dict[str, dict]:
    assert response.status_code == 200, response.content
    return {view["name"]: view for view in response.json()["results"]}


@pytest.fixture
def bob(make_agent, billing):
    """An agent of Billing only."""
    return make_agent("bob@example.com", teams=[billing], first_name="Bob")


def test_a_saved_view_filters_the_list_and_counts_what_it_shows(
    alice, alice_client, start_conversation, support
):
    waiting = [start_conversation(team=support) for _ in range(3)]
    conversation_assign(conversation=waiting[0], assignee=alice)
    conversation_resolve(conversation=waiting[1])
    created = alice_client.post(
        VIEWS,
        {"name": "Unassigned open", "filters": {"assignee": "none", "status": "open"}},
        format="json",
    )
    assert created.status_code == 201, created.content
    view = created.json()
    assert view["count"] == 1 and view["count_exact"] is True
    assert view["shared"] is False and view["can_change"] is True

    assert ids(alice_client.get(LIST, {"view": view["id"]})) == [waiting[2].pk]
    # A filter in the query replaces the view's own.
    assert ids(alice_client.get(LIST, {"view": view["id"], "status": "resolved"})) == [
        waiting[1].pk
    ]
    assert by_name(alice_client.get(VIEWS))["Unassigned open"]["count"] == 1


def test_me_in_a_shared_view_is_whoever_reads_it(
    alice, make_agent, logged_in, start_conversation, support, staff
):
    colleague = make_agent(teams=[support])
    mine, theirs = start_conversation(team=support), start_conversation(team=support)
    conversation_assign(conversation=mine, assignee=alice)
    conversation_assign(conversation=theirs, assignee=colleague)
    SavedView.objects.create(name="Mine", team=support, filters={"assignee": "me"})

    for agent, expected in ((alice, mine), (colleague, theirs)):
        client = logged_in(agent)
        view = by_name(client.get(VIEWS))["Mine"]
        assert view["count"] == 1 and view["shared"] is True
        assert ids(client.get(LIST, {"view": view["id"]})) == [expected.pk]


def test_counts_are_only_of_conversations_the_agent_may_read(
    bob, alice, logged_in, start_conversation, support, billing
):
    start_conversation(team=support)
    start_conversation(team=support)
    start_conversation(team=billing)
    client = logged_in(bob)
    view = client.post(VIEWS, {"name": "All open", "filters": {"status": "open"}}, format="json")
    assert view.json()["count"] == 1  # Billing's; Support's two are not Bob's to read
    assert len(ids(client.get(LIST, {"view": view.json()["id"]}))) == 1
    # The same filters as Alice's view count Support's conversations.
    mirror = logged_in(alice).post(
        VIEWS, {"name": "All open", "filters": {"status": "open"}}, format="json"
    )
    assert mirror.json()["count"] == 2


def test_shared_views_reach_the_team_and_only_the_team(
    alice, bob, logged_in, make_agent, support, staff
):
    outsider_view = logged_in(bob).post(
        VIEWS, {"name": "Billing's", "filters": {}, "team": "Billing"}, format="json"
    )
    assert outsider_view.status_code == 201, outsider_view.content
    assert outsider_view.json()["team"]["name"] == "Billing"
    shared = logged_in(alice).post(
        VIEWS,
        {"name": "Support queue", "filters": {"assignee": "none"}, "team": support.pk},
        format="json",
    )
    assert shared.status_code == 201
    colleague = logged_in(make_agent(teams=[support]))
    assert set(by_name(colleague.get(VIEWS))) == {"Support queue"}
    assert set(by_name(logged_in(bob).get(VIEWS))) == {"Billing's"}

    # A team member may change the team's view; someone outside it may not even see it.
    renamed = colleague.patch(f"{VIEWS}/{shared.json()['id']}", {"name": "Queue"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Queue"
    assert logged_in(bob).patch(f"{VIEWS}/{shared.json()['id']}", {"name": "x"}).status_code == 404
    # An agent may not share a view with a team they are not in; an admin may.
    refused = logged_in(bob).post(
        VIEWS, {"name": "Sneaky", "filters": {}, "team": support.pk}, format="json"
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    by_admin = logged_in(staff).post(
        VIEWS, {"name": "From the lead", "filters": {}, "team": support.pk}, format="json"
    )
    assert by_admin.status_code == 201
    assert "From the lead" in by_name(colleague.get(VIEWS))
    assert logged_in(staff).delete(f"{VIEWS}/{shared.json()['id']}").status_code == 204


def test_a_personal_view_is_its_owners_alone(
    alice, alice_client, logged_in, make_agent, staff, support
):
    view = alice_client.post(VIEWS, {"name": "Mine", "filters": {"assignee": "me"}}, format="json")
    pk = view.json()["id"]
    for other in (make_agent(teams=[support]), staff):
        client = logged_in(other)
        assert "Mine" not in by_name(client.get(VIEWS))
        assert client.get(f"{VIEWS}/{pk}").status_code == 404
        assert client.delete(f"{VIEWS}/{pk}").status_code == 404
        assert client.get(LIST, {"view": pk}).status_code == 404
    assert alice_client.delete(f"{VIEWS}/{pk}").status_code == 204
    assert not SavedView.objects.filter(pk=pk).exists()


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"status": "closed"}, "status"),
        ({"priority": "someday"}, "priority"),
        ({"assignee": "everyone"}, "assignee"),
        ({"team": "No such team"}, "team"),
        ({"ordering": "name"}, "ordering"),
        ({"attribute": "not a name:x"}, "attribute"),
        ({"colour": "red"}, "filters"),
        ({"status": 3}, "filters"),
    ],
)
def test_a_bad_filter_is_refused_in_the_error_shape(alice_client, filters, field):
    response = alice_client.post(VIEWS, {"name": "Bad", "filters": filters}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] and error["message"]
    assert field in error["fields"]
    assert not SavedView.objects.exists()


def test_the_list_says_what_is_wrong_with_a_view_reference(alice_client):
    assert alice_client.get(LIST, {"view": "seven"}).status_code == 400
    assert alice_client.get(LIST, {"view": "999999"}).json()["error"]["code"] == "not_found"


def test_priority_label_and_ordering_filters_of_a_view(alice_client, start_conversation, support):
    refund = start_conversation(team=support)
    conversation_update(conversation=refund, labels=["refund"], priority="urgent")
    start_conversation(team=support)
    view = alice_client.post(
        VIEWS,
        {
            "name": "Urgent refunds",
            "filters": {"label": "refund", "priority": "high,urgent", "ordering": "waiting_since"},
        },
        format="json",
    ).json()
    assert view["count"] == 1
    assert ids(alice_client.get(LIST, {"view": view["id"]})) == [refund.pk]


def test_editing_a_view_checks_its_new_filters(alice_client):
    pk = alice_client.post(VIEWS, {"name": "Open", "filters": {"status": "open"}}, format="json")
    pk = pk.json()["id"]
    bad = alice_client.patch(f"{VIEWS}/{pk}", {"filters": {"status": "nope"}}, format="json")
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]
    good = alice_client.patch(
        f"{VIEWS}/{pk}", {"filters": {"status": "pending"}, "position": 3}, format="json"
    )
    assert good.status_code == 200
    assert good.json()["filters"] == {"status": "pending"} and good.json()["position"] == 3


def test_a_view_whose_team_is_gone_counts_nothing_and_says_so(
    alice_client, make_team, start_conversation
):
    gone = make_team("Gone")
    view = alice_client.post(
        VIEWS, {"name": "Gone's", "filters": {"team": str(gone.pk)}}, format="json"
    ).json()
    gone.delete()
    listed = by_name(alice_client.get(VIEWS))["Gone's"]
    assert listed["count"] is None
    assert alice_client.get(LIST, {"view": view["id"]}).status_code == 400


def test_views_are_in_their_order_and_capped(alice_client):
    from conversations.services import MAX_SAVED_VIEWS

    for number in range(MAX_SAVED_VIEWS):
        created = alice_client.post(VIEWS, {"name": f"V{number}", "filters": {}}, format="json")
        assert created.json()["position"] == number
    names = [view["name"] for view in alice_client.get(VIEWS).json()["results"]]
    assert names == [f"V{number}" for number in range(MAX_SAVED_VIEWS)]
    refused = alice_client.post(VIEWS, {"name": "One more", "filters": {}}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "too_many_views"


def test_counts_past_a_thousand_are_estimates(alice_client, monkeypatch, start_conversation):
    from conversations import pagination

    monkeypatch.setattr(pagination, "COUNT_LIMIT", 2)  # a thousand conversations, in small
    for _ in range(3):
        start_conversation()
    view = alice_client.post(VIEWS, {"name": "All", "filters": {}}, format="json").json()
    assert view["count_exact"] is False
    assert view["count"] >= 3


def test_a_list_of_views_counts_each_in_one_statement(
    alice, alice_client, start_conversation, support, make_team, django_assert_max_num_queries
):
    open_ones = [start_conversation(team=support) for _ in range(2)]
    conversation_resolve(conversation=start_conversation(team=support))
    conversation_assign(conversation=open_ones[0], assignee=alice)
    gone = make_team("Gone")
    for name, filters in [
        ("Open", {"status": "open"}),
        ("Resolved", {"status": "resolved"}),
        ("Mine", {"assignee": "me"}),
        ("Pending", {"status": "pending"}),
        ("Gone's", {"team": str(gone.pk)}),
    ]:
        alice_client.post(VIEWS, {"name": name, "filters": filters}, format="json")
    gone.delete()
    with django_assert_max_num_queries(6):  # auth (2), views, a team, their teams, the counts
        listed = by_name(alice_client.get(VIEWS))
    counts = {name: view["count"] for name, view in listed.items()}
    assert counts == {"Open": 2, "Resolved": 1, "Mine": 1, "Pending": 0, "Gone's": None}
