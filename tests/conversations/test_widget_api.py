"""The customer (widget) API of shared/API.md, end to end through real HTTP handling."""

import pytest
from rest_framework.test import APIClient

from conversations.authentication import identity_hash
from conversations.models import Customer, Status
from conversations.services import Author, conversation_resolve, message_post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

SESSIONS = "/api/v1/widget/sessions"
CONVERSATIONS = "/api/v1/widget/conversations"


def new_session(**body) -> dict:
    response = APIClient().post(SESSIONS, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def widget(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def customer_client():
    """A widget with a fresh session: (client, customer)."""
    session = new_session(name="Ayşe Yılmaz", email="ayse@example.com")
    return widget(session["customer_token"]), Customer.objects.get(pk=session["customer"]["id"])


def start(client: APIClient, body: str = "Where is my order?", client_id: str = "c1", **extra):
    return client.post(
        CONVERSATIONS, {"body": body, "client_id": client_id, **extra}, format="json"
    )


def messages_url(conversation_id: int) -> str:
    return f"{CONVERSATIONS}/{conversation_id}/messages"


# --- Sessions ---------------------------------------------------------------------------------


def test_a_new_session_creates_a_customer_and_a_token():
    session = new_session(name="Ayşe", email="ayse@example.com")
    assert session["customer"] == {
        "id": session["customer"]["id"],
        "name": "Ayşe",
        "email": "ayse@example.com",
    }
    assert Customer.objects.get(token=session["customer_token"]).name == "Ayşe"


def test_a_known_token_resumes_the_same_customer_and_a_stale_one_starts_afresh():
    first = new_session(name="Ayşe")
    resumed = new_session(customer_token=first["customer_token"], email="new@example.com")
    assert resumed["customer"]["id"] == first["customer"]["id"]
    assert resumed["customer"]["email"] == "new@example.com"
    assert resumed["customer"]["name"] == "Ayşe"  # not given again: kept

    stale = new_session(customer_token="no-such-token")
    assert stale["customer"]["id"] != first["customer"]["id"]


def test_a_verified_identity_finds_the_same_customer_on_another_device(customer_client):
    laptop = new_session(identifier="user-42", identifier_hash=identity_hash("user-42"), name="Ali")
    phone = new_session(identifier="user-42", identifier_hash=identity_hash("user-42"))
    assert phone["customer"]["id"] == laptop["customer"]["id"]
    assert phone["customer"]["name"] == "Ali"
    assert phone["customer_token"] == laptop["customer_token"]


def test_an_anonymous_visitor_who_logs_in_keeps_their_conversations():
    anonymous = new_session()
    start(widget(anonymous["customer_token"]), body="Before logging in")
    identified = new_session(
        customer_token=anonymous["customer_token"],
        identifier="user-7",
        identifier_hash=identity_hash("user-7"),
    )
    assert identified["customer"]["id"] == anonymous["customer"]["id"]
    on_phone = new_session(identifier="user-7", identifier_hash=identity_hash("user-7"))
    listed = widget(on_phone["customer_token"]).get(CONVERSATIONS).json()["results"]
    assert [c["last_message_preview"] for c in listed] == ["Before logging in"]


def test_a_wrong_identity_hash_is_refused():
    response = APIClient().post(
        SESSIONS,
        {"identifier": "user-42", "identifier_hash": identity_hash("user-43")},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "identity_invalid"
    assert "identifier_hash" in response.json()["error"]["fields"]
    assert not Customer.objects.filter(identifier="user-42").exists()


def test_an_identity_without_a_configured_secret_is_a_clear_error(settings):
    settings.HELPDESK_IDENTITY_SECRET = ""
    response = APIClient().post(
        SESSIONS, {"identifier": "user-42", "identifier_hash": "abc"}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "identity_not_configured"
    assert "HELPDESK_IDENTITY_SECRET" in error["message"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"email": "not-an-email"}, "email"),
        ({"name": 12}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"identifier": ["a"]}, "identifier"),
    ],
)
def test_bad_session_fields_answer_400_with_fields(body, field):
    response = APIClient().post(SESSIONS, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize("raw", ['{"name": ', "[1, 2]", '"text"'])
def test_malformed_or_non_object_json_answers_400_in_the_error_shape(raw):
    response = APIClient().post(SESSIONS, raw, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["error"]) >= {"code", "message"}


# --- Authentication and ownership -------------------------------------------------------------


@pytest.mark.parametrize(
    "header", [None, "Bearer nope", "Bearer", "Bearer a b", "Bearer " + "x" * 90]
)
def test_widget_calls_without_a_valid_token_answer_401(header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(CONVERSATIONS)
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"not_authenticated", "authentication_failed"}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_another_customers_conversation_answers_404_everywhere(customer_client, start_conversation):
    client, _customer = customer_client
    someone_else = start_conversation(body="private matter")
    conversation_resolve(conversation=someone_else)
    url = f"{CONVERSATIONS}/{someone_else.pk}"
    for response in [
        client.get(url),
        client.get(f"{url}/messages"),
        client.post(f"{url}/messages", {"body": "hi", "client_id": "x"}, format="json"),
        client.post(f"{url}/rating", {"score": 5}, format="json"),
        client.get(f"{CONVERSATIONS}/99999999999999999999999/messages"),
    ]:
        assert response.status_code == 404, response.content
        assert response.json()["error"]["code"] == "not_found"
        assert b"private matter" not in response.content
    assert someone_else.messages.count() == 1
    assert client.get(CONVERSATIONS).json() == {"results": []}


# --- Conversations and messages ---------------------------------------------------------------


def test_starting_a_conversation_is_idempotent_on_client_id(customer_client, make_team):
    default = make_team(name="Support", is_default=True)
    client, customer = customer_client
    first = start(client, body="Where is my order?", client_id="abc")
    assert first.status_code == 201
    conversation = first.json()
    assert conversation["customer"]["id"] == customer.pk
    assert conversation["team"] == {"id": default.pk, "name": "Support"}
    assert conversation["status"] == "open" and conversation["channel"] == "web"

    again = start(client, body="Where is my order?", client_id="abc")
    assert again.status_code == 200
    assert again.json()["id"] == conversation["id"]
    messages = client.get(messages_url(conversation["id"])).json()["results"]
    assert [m["body"] for m in messages] == ["Where is my order?"]
    assert messages[0]["author"] == {"kind": "customer", "id": customer.pk, "name": "Ayşe Yılmaz"}


def test_a_team_name_routes_the_conversation_and_an_unknown_one_is_refused(
    customer_client, make_team
):
    billing = make_team(name="Billing")
    client, _ = customer_client
    routed = start(client, team="billing")
    assert routed.status_code == 201
    assert routed.json()["team"]["id"] == billing.pk

    unknown = start(client, client_id="c2", team="Nowhere")
    assert unknown.status_code == 400
    assert "team" in unknown.json()["error"]["fields"]


def test_the_list_shows_own_conversations_newest_activity_first(customer_client):
    client, _ = customer_client
    older = start(client, body="first", client_id="a").json()
    newer = start(client, body="second", client_id="b").json()
    client.post(messages_url(older["id"]), {"body": "bump", "client_id": "m"}, format="json")
    listed = client.get(CONVERSATIONS).json()["results"]
    assert [c["id"] for c in listed] == [older["id"], newer["id"]]


def test_messages_round_trip_verbatim_and_idempotently(customer_client):
    client, _ = customer_client
    conversation = start(client).json()
    evil = "<img src=x onerror=alert(1)> & \"quotes\" 'too'"
    posted = client.post(
        messages_url(conversation["id"]), {"body": evil, "client_id": "m1"}, format="json"
    )
    assert posted.status_code == 201
    assert posted.json()["body"] == evil
    assert posted["Content-Type"] == "application/json"
    repeated = client.post(
        messages_url(conversation["id"]), {"body": evil, "client_id": "m1"}, format="json"
    )
    assert repeated.status_code == 200 and repeated.json()["id"] == posted.json()["id"]
    listed = client.get(messages_url(conversation["id"]))
    assert [m["body"] for m in listed.json()["results"]] == ["Where is my order?", evil]
    assert b"<img src=x onerror=alert(1)>" in listed.content  # JSON, not HTML: no escaping here


def test_private_notes_and_other_agents_work_never_reach_the_widget(customer_client, make_agent):
    client, _ = customer_client
    agent = make_agent(first_name="Deniz")
    created = start(client).json()
    conversation = _customer_conversation(created["id"])
    message_post(
        conversation=conversation,
        author=Author.of_agent(agent),
        body="internal: refund fraud?",
        client_id="note",
        private=True,
    )
    reply, _ = message_post(
        conversation=conversation, author=Author.of_agent(agent), body="Hello!", client_id="r"
    )
    listed = client.get(messages_url(created["id"])).json()["results"]
    assert [m["body"] for m in listed] == ["Where is my order?", "Hello!"]
    assert listed[1]["author"]["kind"] == "agent" and listed[1]["author"]["name"] == "Deniz"
    assert b"refund fraud" not in client.get(messages_url(created["id"])).content

    after = client.get(messages_url(created["id"]), {"after": listed[0]["id"]}).json()
    assert [m["id"] for m in after["results"]] == [reply.pk]
    assert after["has_more"] is False


def _customer_conversation(pk: int):
    from conversations.models import Conversation

    return Conversation.objects.get(pk=pk)


@pytest.mark.parametrize("after", ["abc", "-1", "1.5"])
def test_a_bad_after_answers_400(customer_client, after):
    client, _ = customer_client
    conversation = start(client).json()
    response = client.get(messages_url(conversation["id"]), {"after": after})
    assert response.status_code == 400
    assert "after" in response.json()["error"]["fields"]


def test_message_bodies_are_checked(customer_client, settings):
    settings.HELPDESK_MAX_MESSAGE_LENGTH = 20
    client, _ = customer_client
    conversation = start(client, body="short").json()
    url = messages_url(conversation["id"])

    too_long = client.post(url, {"body": "x" * 21, "client_id": "a"}, format="json")
    assert too_long.status_code == 400
    assert too_long.json()["error"]["code"] == "too_long"
    assert "body" in too_long.json()["error"]["fields"]

    for body in [{"body": 123, "client_id": "b"}, {"body": "hi", "client_id": 5}, {"body": "  "}]:
        response = client.post(url, body, format="json")
        assert response.status_code == 400, body
        assert response.json()["error"]["fields"]

    empty = client.post(url, {"body": "   ", "client_id": "c"}, format="json")
    assert empty.json()["error"]["fields"]["body"]
    assert client.post(url, "{oops", content_type="application/json").status_code == 400
    assert len(client.get(url).json()["results"]) == 1


def test_a_customer_cannot_write_a_private_note(customer_client):
    client, _ = customer_client
    conversation = start(client).json()
    response = client.post(
        messages_url(conversation["id"]),
        {"body": "sneaky", "client_id": "p", "private": True},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["private"] is False


def test_a_customer_message_reopens_a_resolved_conversation(customer_client):
    client, _ = customer_client
    created = start(client).json()
    conversation_resolve(conversation=_customer_conversation(created["id"]))
    client.post(messages_url(created["id"]), {"body": "again", "client_id": "x"}, format="json")
    assert client.get(f"{CONVERSATIONS}/{created['id']}").json()["status"] == Status.OPEN


# --- Ratings ----------------------------------------------------------------------------------


def test_rating_only_after_resolution_and_once_per_cycle(customer_client):
    client, _ = customer_client
    created = start(client).json()
    url = f"{CONVERSATIONS}/{created['id']}/rating"

    early = client.post(url, {"score": 5}, format="json")
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "not_resolved"

    conversation_resolve(conversation=_customer_conversation(created["id"]))
    rated = client.post(url, {"score": 4, "comment": "Quick <b>help</b>"}, format="json")
    assert rated.status_code == 201
    assert rated.json() == {"score": 4, "comment": "Quick <b>help</b>"}

    twice = client.post(url, {"score": 1}, format="json")
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "already_rated"


@pytest.mark.parametrize("score", [0, 6, "five", None, True, 4.5])
def test_a_score_outside_1_to_5_answers_400(customer_client, score):
    client, _ = customer_client
    created = start(client).json()
    conversation_resolve(conversation=_customer_conversation(created["id"]))
    response = client.post(
        f"{CONVERSATIONS}/{created['id']}/rating", {"score": score}, format="json"
    )
    assert response.status_code == 400
    assert "score" in response.json()["error"]["fields"]


# --- Rate limits and CORS ---------------------------------------------------------------------


def limit(settings, **rates) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def test_sessions_are_rate_limited_per_ip(settings):
    limit(settings, widget_sessions="3/min")
    client = APIClient()
    statuses = [client.post(SESSIONS, {}, format="json").status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    refused = client.post(SESSIONS, {}, format="json")
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused["Retry-After"]) > 0
    other_ip = client.post(SESSIONS, {}, format="json", REMOTE_ADDR="10.0.0.9")
    assert other_ip.status_code == 201


def test_messages_are_rate_limited_per_customer_but_reading_is_not(customer_client, settings):
    limit(settings, widget_messages="2/min", widget_conversations="1/min")
    client, _ = customer_client
    conversation = start(client).json()
    assert start(client, client_id="second").status_code == 429
    url = messages_url(conversation["id"])
    statuses = [
        client.post(url, {"body": "hi", "client_id": f"m{n}"}, format="json").status_code
        for n in range(3)
    ]
    assert statuses == [201, 201, 429]
    assert client.get(url).status_code == 200

    other = widget(new_session()["customer_token"])
    assert start(other).status_code == 201  # another customer has their own budget


def test_cors_allows_the_widget_origins_only(settings):
    allowed = settings.HELPDESK_WIDGET_ORIGINS[0]
    assert allowed == "http://127.0.0.1:8000"  # by default: the helpdesk's own host
    assert settings.CORS_ALLOWED_ORIGINS == settings.HELPDESK_WIDGET_ORIGINS
    client = APIClient()
    preflight = client.options(
        SESSIONS,
        HTTP_ORIGIN=allowed,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert preflight["Access-Control-Allow-Origin"] == allowed
    assert "authorization" in preflight["Access-Control-Allow-Headers"]

    posted = client.post(SESSIONS, {}, format="json", HTTP_ORIGIN=allowed)
    assert posted["Access-Control-Allow-Origin"] == allowed

    foreign = client.post(SESSIONS, {}, format="json", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in foreign
    agent_api = client.get("/api/v1/conversations", HTTP_ORIGIN=allowed)
    assert "Access-Control-Allow-Origin" not in agent_api  # only the widget API is shared


def test_customers_do_not_see_agent_emails_or_triage_labels(make_customer, make_agent):
    from rest_framework.test import APIClient

    from conversations.serializers import customer_event
    from conversations.services import conversation_assign, conversation_start, conversation_update

    customer = make_customer()
    agent = make_agent("secret.agent@example.com", first_name="Ayşe")
    conversation, _ = conversation_start(customer=customer, body="hi", client_id="lv1")
    conversation_assign(conversation=conversation, assignee=agent)
    conversation_update(conversation=conversation, labels=["angry-customer"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {customer.token}")
    shown = client.get(f"/api/v1/widget/conversations/{conversation.pk}").json()
    assert shown["assignee"]["name"] == "Ayşe" and shown["assignee"]["email"] is None
    assert shown["labels"] == []
    listed = client.get("/api/v1/widget/conversations").json()["results"][0]
    assert "secret.agent" not in str(listed) and "angry" not in str(listed)

    from conversations.events import envelope

    for event in conversation.events.exclude(type="message.created"):
        sent = customer_event(envelope(event))
        assert "secret.agent" not in str(sent) and "angry" not in str(sent)


def test_customers_see_the_agents_display_name_never_the_email(customer_client, make_agent):
    """Defect 3 of issue 15: customers saw the agent as "admin@example.com"."""
    from conversations.events import envelope
    from conversations.models import Conversation
    from conversations.serializers import customer_event
    from conversations.services import conversation_assign, public_profile_save

    client, _ = customer_client
    nameless = make_agent("admin@example.com")  # no first, last or display name
    named = make_agent("ayse.agent@example.com", first_name="Ayşe", last_name="Yılmaz")
    public_profile_save(user=named, display_name="Ayşe from Lale Coffee")
    created = start(client).json()
    conversation = Conversation.objects.get(pk=created["id"])
    conversation_assign(conversation=conversation, assignee=named)
    for agent, client_id in [(nameless, "r1"), (named, "r2")]:
        message_post(
            conversation=conversation, author=Author.of_agent(agent), body="Hi", client_id=client_id
        )

    listed = client.get(messages_url(created["id"])).json()["results"]
    authors = [m["author"] for m in listed[1:]]
    assert [a["name"] for a in authors] == ["Support agent", "Ayşe from Lale Coffee"]
    assert authors[1]["avatar"]["initials"] == "AF"
    assert authors[0]["avatar"]["color"].startswith("#")
    shown = client.get(f"{CONVERSATIONS}/{created['id']}").json()
    assert shown["assignee"]["name"] == "Ayşe from Lale Coffee"
    assert shown["assignee"]["avatar"]["initials"] == "AF"

    # The websocket envelopes a customer receives say the same, in Turkish too.
    sent = [customer_event(envelope(event)) for event in conversation.events.order_by("id")]
    assert "Ayşe from Lale Coffee" in str(sent)
    everything = str(sent) + str(listed) + str(shown)
    assert "admin@example.com" not in everything and "ayse.agent@" not in everything
    turkish = client.get(messages_url(created["id"]), HTTP_ACCEPT_LANGUAGE="tr").json()
    assert turkish["results"][1]["author"]["name"] == "Destek temsilcisi"
