"""Every page under the Content-Security-Policy in a real browser: no violation, no console
error, while the page does its work (the widget sends, the workspace goes live, the charts
draw, the admin opens a conversation)."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Installed before any script of the page runs: every violation the browser reports.
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || event.documentURI}:${event.lineNumber}`);
}, true);
"""


class Watched:
    """A browser context whose pages report CSP violations, console errors and crashes."""

    def __init__(self, browser) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 820}, locale="en-US")
        self.context.add_init_script(WATCH_VIOLATIONS)
        self.problems: list[str] = []
        self.page = self.context.new_page()
        self.page.on("console", self.on_console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.failed: list[str] = []  # what the console's "Failed to load resource" was
        self.page.on(
            "response",
            lambda r: (
                r.status >= 400 and self.failed.append(f"{r.status} {r.request.method} {r.url}")
            ),
        )

    def on_console(self, message) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text} {message.location}")

    def violations(self) -> list[str]:
        return self.page.evaluate("window.__violations")

    def assert_clean(self, where: str, *, status: int = 200) -> None:
        # A violation is reported to the page a moment after the browser blocked it.
        self.page.wait_for_timeout(300)
        assert self.violations() == [], where
        # A page answered with an error status is an "error" to the console, by itself.
        expected = f"console error: Failed to load resource: the server responded with a status of {status} "
        problems = [text for text in self.problems if not text.startswith(expected)]
        assert problems == [], f"{where}: {self.failed}"
        self.problems.clear()
        self.failed.clear()


@pytest.fixture
def desk(make_team, make_agent, start_conversation):
    team = make_team("billing", is_default=True)
    make_agent(
        "ayse@example.com",
        teams=[team],
        presence="online",
        first_name="Ayşe",
        last_name="Demir",
        is_superuser=True,  # the admin's conversation pages too
    )
    return start_conversation(body="My invoice is wrong", team=team)


def log_in(watched: Watched, live_server_url: str, path: str) -> None:
    page = watched.page
    page.goto(f"{live_server_url}{path}")
    page.wait_for_url("**/admin/login/**")
    page.fill("#id_username", "ayse@example.com")
    page.fill("#id_password", "pw-for-tests")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server_url}{path}")


def test_the_pages_run_under_the_policy_without_a_violation(desk, live_server_url, browser):
    # `desk` first: its conversation is broadcast before Playwright's loop runs in this thread.
    from playwright.sync_api import expect

    from conversations.mail.outbound import resume_url

    customer = Watched(browser)
    page = customer.page
    response = page.goto(f"{live_server_url}/widget/demo/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.get_by_role("button", name="Chat with us").click()  # the shop's own button
    composer = page.get_by_role("textbox", name="Message")
    expect(composer).to_be_focused()
    composer.fill("Hello from the demo shop")
    composer.press("Enter")
    expect(page.locator(".hd-thread").get_by_text("Hello from the demo shop")).to_be_visible()
    page.wait_for_selector("helpdesk-widget[data-connection=live]", state="attached")
    customer.assert_clean("widget demo")

    # The resume link of an email opens the widget on its conversation; a broken one explains.
    page.goto(live_server_url + resume_url(desk).removeprefix(settings_public_url()))
    expect(page.locator(".hd-thread").get_by_text("My invoice is wrong")).to_be_visible()
    page.get_by_role("button", name="Open the conversation").click()
    customer.assert_clean("resume page")
    page.goto(f"{live_server_url}/widget/resume/not-a-token/")
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    customer.assert_clean("broken resume link", status=400)

    agent = Watched(browser)
    page = agent.page
    log_in(agent, live_server_url, "/agent/")
    page.wait_for_selector("#live-status[data-state=live]")
    page.get_by_role("tab", name="All").click()
    page.get_by_text("My invoice is wrong").first.click()
    expect(page.get_by_role("textbox", name="Reply")).to_be_visible()
    agent.assert_clean("workspace")

    page.goto(f"{live_server_url}/reports/")
    page.wait_for_function("() => window.hdReports && window.hdReports.state.refreshCount > 0")
    page.wait_for_timeout(600)  # the first draw animates
    agent.assert_clean("reports")

    page.goto(f"{live_server_url}/admin/conversations/conversation/")
    expect(page.locator("#result_list")).to_be_visible()
    agent.assert_clean("admin changelist")
    page.goto(f"{live_server_url}/admin/conversations/conversation/{desk.pk}/change/")
    expect(page.locator(".hd-thread").get_by_text("My invoice is wrong")).to_be_visible()
    agent.assert_clean("admin change form")

    # The help center: its pages, and the article form's live preview (a script of its own).
    page.goto(f"{live_server_url}/admin/helpcenter/article/add/")
    page.locator("#id_body").press_sequentially("**Free** returns")
    expect(page.locator(".hc-preview strong")).to_have_text("Free")
    agent.assert_clean("admin article form")
    page.goto(f"{live_server_url}/help/en/articles/{help_article().slug}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Returns")
    page.get_by_role("button", name="Yes", exact=True).click()
    expect(page.locator("#feedback [role=status]")).to_be_visible()
    agent.assert_clean("help center article")


def help_article():
    from helpcenter.models import Article
    from helpcenter.services import article_save

    return article_save(
        article=Article(), title="Returns", body="Free *returns*.", language="en", published=True
    )


def settings_public_url() -> str:
    from django.conf import settings

    return settings.HELPDESK_PUBLIC_URL.rstrip("/")


def test_the_watch_catches_a_violation(browser, live_server_url, db):
    # The same watch on a page of ours, where a script adds inline code: the policy blocks
    # it and the watch says so, so the clean run above is a finding.
    watched = Watched(browser)
    watched.page.goto(f"{live_server_url}/widget/resume/not-a-token/")
    watched.page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.ranInline = true";
          document.body.append(script);
          document.body.setAttribute("style", "color: red");
        }"""
    )
    watched.page.wait_for_timeout(300)
    assert watched.page.evaluate("window.ranInline") is None
    found = watched.violations()
    assert any(text.startswith("script-src-elem blocked inline") for text in found), found
    assert any(text.startswith("style-src-attr blocked inline") for text in found), found
    assert any("Content Security Policy" in text for text in watched.problems), watched.problems
