"""Ids as people type them: a digit that is not ASCII ("¹" passes str.isdigit() and then
fails int()), a number too large for any id, a NUL. Every one gets the error shape (400 or
404, saying what is wrong), never a 500."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

SUPERSCRIPT_ONE = "¹"
TOO_LARGE = "99999999999999999999"


@pytest.fixture
def conversation(start_conversation, support):
    return start_conversation(team=support)


@pytest.fixture
def customer_api(conversation):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {conversation.customer.token}")
    return client


AGENT_GETS = [
    "/api/v1/conversations?assignee={bad}",
    "/api/v1/conversations?team={bad}",
    "/api/v1/canned-responses?conversation={bad}",
    "/api/v1/canned-responses?team={bad}",
    "/api/v1/reports/summary?team={bad}",
    "/api/v1/reports/summary?agent={bad}",
]


@pytest.mark.parametrize("bad", [SUPERSCRIPT_ONE, TOO_LARGE, "a\x00b"])
@pytest.mark.parametrize("path", AGENT_GETS)
def test_agent_query_strings_refuse_bad_ids_in_the_error_shape(alice_client, path, bad):
    response = alice_client.get(path.format(bad=bad))
    assert response.status_code in (200, 400, 404), response.content
    if response.status_code != 200:
        assert "error" in response.json()


@pytest.mark.parametrize("bad", [SUPERSCRIPT_ONE, TOO_LARGE])
@pytest.mark.parametrize("field", ["assignee", "team"])
def test_changing_a_conversation_refuses_bad_references(alice_client, conversation, field, bad):
    response = alice_client.patch(
        f"/api/v1/conversations/{conversation.pk}", {field: bad}, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize("bad", [SUPERSCRIPT_ONE, TOO_LARGE])
def test_a_transfer_refuses_a_bad_team(alice_client, conversation, bad):
    response = alice_client.post(
        f"/api/v1/conversations/{conversation.pk}/transfer",
        {"team": bad, "note": "Over to you"},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "team" in response.json()["error"]["fields"]


@pytest.mark.parametrize("bad", [SUPERSCRIPT_ONE, TOO_LARGE])
def test_the_customers_messages_refuse_a_bad_cursor(customer_api, conversation, bad):
    response = customer_api.get(
        f"/api/v1/widget/conversations/{conversation.pk}/messages", {"after": bad}
    )
    assert response.status_code == 400, response.content
    assert "after" in response.json()["error"]["fields"]


@pytest.mark.parametrize("bad", [SUPERSCRIPT_ONE, TOO_LARGE])
def test_the_admin_list_refuses_a_bad_assignee_filter(staff_client, bad):
    response = staff_client.get("/admin/conversations/conversation/", {"assignee": bad})
    assert response.status_code in (200, 302)  # Django's answer to a bad lookup: ?e=1


@pytest.mark.parametrize("local", [f"reply+{SUPERSCRIPT_ONE}.abc", f"reply+{TOO_LARGE}.abc"])
def test_a_reply_address_with_a_bad_id_names_no_conversation(local, settings):
    from conversations.mail.outbound import conversation_id_from_reply_address

    settings.HELPDESK_INBOUND_DOMAIN = "inbound.example.com"
    assert conversation_id_from_reply_address(f"{local}@inbound.example.com") is None


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/conversations/-1", 404, "not_found"),
        ("/api/v1/no-such-endpoint", 404, "not_found"),
    ],
)
def test_api_paths_django_answers_itself_use_the_error_shape(alice_client, path, status, code):
    response = alice_client.get(path)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == code


def test_a_body_over_the_upload_limit_gets_the_error_shape(customer_api, conversation, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = customer_api.post(
        f"/api/v1/widget/conversations/{conversation.pk}/messages",
        {"body": "x" * 5000, "client_id": "big"},
        format="json",
    )
    assert response.status_code in (400, 413)
    assert response.json()["error"]["code"] in ("too_large", "bad_request")


def test_a_page_number_too_large_for_any_page_is_a_404_in_the_error_shape(alice_client):
    response = alice_client.get("/api/v1/conversations", {"page": TOO_LARGE})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/v1/conversations", "/api/v1/articles"])
def test_an_empty_page_number_is_refused_not_read_as_the_first_page(alice_client, path):
    """Found by the schema fuzzer: `page=` answered the first page (the schema says integer)."""
    empty = alice_client.get(path, {"page": ""})
    assert empty.status_code == 400, empty.content
    assert "page" in empty.json()["error"]["fields"]
    assert alice_client.get(path, {"page": "last"}).status_code == 404  # not DRF's shortcut
    assert alice_client.get(path, {"page": "1"}).status_code == 200


def test_a_search_within_a_status_filter_of_only_commas_is_no_filter(alice_client, conversation):
    """Found by the schema fuzzer: `status=,` filtered by an empty list, and the search then
    failed to build its SQL (a 500)."""
    response = alice_client.get("/api/v1/conversations?status=%2C+&q=help")
    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == [conversation.pk]
