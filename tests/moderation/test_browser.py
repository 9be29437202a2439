"""End to end in a real browser: a moderator logs in to the admin, opens the queue, opens the most
reported post and removes it. Headless Chromium (Debian's `chromium` + `chromium-driver`, which
.ci/run installs when missing) through Selenium, against pytest-django's live server."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.forum.models import Post
from apps.moderation import services
from apps.moderation.models import AuditLogEntry, Reviewable
from tests.browser import headless_chromium
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.moderation.factories import ModeratorFactory, PostFactory


@pytest.fixture
def browser():
    for driver in headless_chromium("--window-size=1400,1000"):
        driver.implicitly_wait(5)
        yield driver


@pytest.mark.django_db(transaction=True)
def test_moderator_removes_a_reported_post_in_the_admin(live_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    moderator = ModeratorFactory(username="modjane")
    scam = PostFactory(title="Free SKID airdrop, send 1 SOL first", body="DM me your seed phrase")
    harmless = PostFactory(title="Success Kid fist pump compilation")
    for _ in range(3):
        reporter = UserFactory(date_joined=timezone.now() - timedelta(days=90))
        services.report_create(reporter=reporter, target_type="post", target_id=scam.pk, reason="scam")
    services.report_create(reporter=UserFactory(), target_type="post", target_id=harmless.pk, reason="off-topic")
    reviewable = Reviewable.objects.get(target_type="post", target_id=scam.pk)

    # Log in.
    browser.get(f"{live_server.url}/admin/login/?next=/admin/moderation/reviewable/")
    browser.find_element(By.ID, "id_username").send_keys(moderator.username)
    browser.find_element(By.ID, "id_password").send_keys(DEFAULT_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

    # The queue: highest score first, content shown inline.
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 2
    assert "Free SKID airdrop" in rows[0].text and "DM me your seed phrase" in rows[0].text
    assert "fist pump" in rows[1].text

    # Open the item and remove the post.
    rows[0].find_element(By.CSS_SELECTOR, f"a[href$='/{reviewable.pk}/change/']").click()
    assert "DM me your seed phrase" in browser.find_element(By.ID, "content").text
    Select(browser.find_element(By.ID, "id_mod_action")).select_by_value("remove")
    browser.find_element(By.ID, "id_mod_reason").send_keys("Scam: asks for a seed phrase")
    browser.find_element(By.ID, "moderation-apply").click()

    # Back on the queue with a confirmation; the item is gone from the pending list.
    message = browser.find_element(By.CSS_SELECTOR, "ul.messagelist li.success").text
    assert f"#{reviewable.pk}: Remove content done" in message
    remaining = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(remaining) == 1 and "fist pump" in remaining[0].text

    scam.refresh_from_db()
    assert scam.status == "removed" and scam.status_changed_by_id == moderator.pk
    reviewable.refresh_from_db()
    assert reviewable.status == "approved" and reviewable.resolved_by_id == moderator.pk
    entry = AuditLogEntry.objects.get(action="remove")
    assert entry.actor_id == moderator.pk and entry.reason == "Scam: asks for a seed phrase"
    assert Post.objects.get(pk=harmless.pk).status == "published"
