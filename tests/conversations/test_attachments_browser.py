"""Files in a real browser (docs/attachments.md): the widget attaches by button, by drag and
drop and by paste, shows images as thumbnails and other files as chips, and says why a file
was refused in the visitor's language; the workspace attaches and shows them the same way.

Set WIDGET_SCREENSHOTS=/some/dir to keep screenshots.
"""

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import eventually

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = os.environ.get("WIDGET_SCREENSHOTS")


def shoot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(300)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"))


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (600, 400), (40, 120, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def billing(make_team, make_agent):
    team = make_team("billing", is_default=True)
    agent = make_agent(
        "ayse@example.com", teams=[team], presence="online", first_name="Ayşe", last_name="Demir"
    )
    return team, agent


# In the page: a file dropped on the chat, and an image pasted into the message box.
DROP = """(name) => {
  const panel = document.querySelector("helpdesk-widget").shadowRoot.querySelector(".hd-panel");
  const data = new DataTransfer();
  data.items.add(new File(["order 42, two items\\n"], name, { type: "text/plain" }));
  panel.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
  panel.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
}"""
PASTE = """async (target) => {
  const root = document.querySelector("helpdesk-widget")?.shadowRoot || document;
  const input = root.querySelector(target);
  const canvas = document.createElement("canvas");
  canvas.width = 320; canvas.height = 200;
  const context = canvas.getContext("2d");
  context.fillStyle = "#e0533d"; context.fillRect(0, 0, 320, 200);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  const data = new DataTransfer();
  data.items.add(new File([blob], "image.png", { type: "image/png" }));
  input.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
}"""


def image_loaded(locator) -> bool:
    return locator.evaluate("(img) => img.complete && img.naturalWidth > 0")


@pytest.mark.timeout(180)
def test_the_widget_attaches_by_button_drop_and_paste_and_shows_thumbnails(
    browser, live_server_url, billing
):
    from playwright.sync_api import expect

    from conversations.models import Attachment, Conversation

    team, agent = billing
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server_url}/widget/demo/")
    page.get_by_role("button", name="Open chat").click()
    composer = page.get_by_role("textbox", name="Message")

    # The paperclip: a photo alone starts the conversation.
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Attach files").click()
    chooser.value.set_files(
        files=[{"name": "broken-box.png", "mimeType": "image/png", "buffer": photo()}]
    )
    expect(page.locator(".hd-pending-file")).to_have_count(1)
    expect(page.get_by_role("button", name="Remove broken-box.png")).to_be_visible()
    composer.press("Enter")
    thread = page.locator(".hd-thread")
    image = thread.locator(".hd-file--image img")
    expect(image).to_have_attribute("alt", "broken-box.png", timeout=10_000)
    assert eventually(lambda: image_loaded(image))
    conversation = eventually(lambda: Conversation.objects.filter(team=team).first())
    assert conversation is not None

    # Dropped on the chat: a text file goes with the words typed.
    page.evaluate(DROP, "order.txt")
    expect(page.locator(".hd-pending-file")).to_contain_text("order.txt")
    composer.fill("Here is my order")
    composer.press("Enter")
    chip = thread.locator("a.hd-file", has_text="order.txt")
    expect(chip).to_be_visible(timeout=10_000)
    expect(thread.get_by_text("Here is my order")).to_be_visible()

    # Pasted into the message box: a screenshot.
    page.evaluate(PASTE, ".hd-input")
    expect(page.locator(".hd-pending-file")).to_have_count(1)
    composer.press("Enter")
    expect(thread.locator(".hd-file--image img")).to_have_count(2, timeout=10_000)
    names = eventually(
        lambda: (
            sorted(Attachment.objects.values_list("name", flat=True))
            if Attachment.objects.count() == 3
            else None
        )
    )
    assert names == ["broken-box.png", "image.png", "order.txt"]
    shoot(page, "attachments-widget")

    # A click on the chip downloads the file itself.
    with page.expect_download() as download:
        chip.click()
    assert Path(download.value.path()).read_bytes() == b"order 42, two items\n"
    assert download.value.suggested_filename == "order.txt"
    assert errors == []
    context.close()


@pytest.mark.timeout(120)
def test_the_widget_says_why_a_file_was_refused_in_the_visitors_language(
    browser, live_server_url, billing, settings
):
    from playwright.sync_api import expect

    settings.HELPDESK_ATTACHMENT_MAX_BYTES = 1000
    context = browser.new_context(locale="tr-TR", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.goto(f"{live_server_url}/widget/demo/")
    page.get_by_role("button", name="Sohbeti aç").click()
    composer = page.get_by_role("textbox", name="Mesaj")
    composer.fill("Merhaba")
    composer.press("Enter")
    expect(page.locator(".hd-thread").get_by_text("Merhaba", exact=True)).to_be_visible()
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Dosya ekle").click()
    chooser.value.set_files(
        files=[{"name": "büyük.png", "mimeType": "image/png", "buffer": photo()}]
    )
    composer.press("Enter")
    error = page.locator("#hd-composer-error")
    expect(error).to_contain_text("Dosyalar", timeout=10_000)
    expect(page.locator(".hd-pending-file")).to_have_count(1)  # kept, to remove or replace
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Dosya ekle").click()
    chooser.value.set_files(
        files=[
            {"name": "sayfa.html", "mimeType": "text/plain", "buffer": b"<html><script>x</script>"}
        ]
    )
    page.get_by_role("button", name="büyük.png kaldır").click()
    composer.press("Enter")
    expect(error).to_contain_text("sayfa.html", timeout=10_000)
    shoot(page, "attachments-refused-tr")
    context.close()


@pytest.mark.timeout(180)
def test_the_workspace_attaches_and_the_customer_sees_the_image(
    browser, live_server_url, billing, start_conversation
):
    from playwright.sync_api import expect

    from conversations.models import Attachment

    team, agent = billing
    agent.set_password("pw-for-tests")
    agent.save()
    conversation = start_conversation(team=team, body="Can you show me where the label goes?")
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server_url}/agent/")
    page.fill("#id_username", "ayse@example.com")
    page.fill("#id_password", "pw-for-tests")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server_url}/agent/")
    page.goto("about:blank")  # a fresh load: the workspace opens the conversation of the hash
    page.goto(f"{live_server_url}/agent/#conversation-{conversation.pk}")
    thread = page.locator("#thread")
    expect(thread.get_by_text("Can you show me where the label goes?")).to_be_visible(
        timeout=10_000
    )

    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Attach files").click()
    chooser.value.set_files(
        files=[{"name": "label.png", "mimeType": "image/png", "buffer": photo()}]
    )
    page.evaluate(PASTE, "#composer-input")  # and a pasted screenshot
    expect(page.locator("#pending-files .pending-file")).to_have_count(2)
    page.fill("#composer-input", "Here, on the left side")
    page.press("#composer-input", "Enter")
    images = thread.locator(".file--image img")
    expect(images).to_have_count(2, timeout=10_000)
    assert eventually(lambda: image_loaded(images.first))
    assert eventually(lambda: Attachment.objects.count() == 2)
    shoot(page, "attachments-workspace")
    assert errors == []

    # The customer, in the widget (the same browser's customer token is not theirs: read the
    # messages over the API the widget uses, and open the image by its link).
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {conversation.customer.token}")
    listed = client.get(f"/api/v1/widget/conversations/{conversation.pk}/messages").json()
    sent = listed["results"][-1]
    assert [file["name"] for file in sent["attachments"]] == ["label.png", "image.png"]
    shown = page.context.new_page()
    response = shown.goto(live_server_url + sent["attachments"][0]["thumbnail_url"])
    assert response.status == 200 and response.headers["content-type"].startswith("image/")
    context.close()
