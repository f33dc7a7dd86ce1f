"""What the messenger's polls answer: the unread count for the navigation's link and, out of
band, for the top bar's icon that a phone shows (to people who may view text logs only, as
the link); and the open thread's timeline with its head (status badge, moves, assignee) when
the status or the assignee changed since the page showed them."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from broadcasts.conversations import services
from broadcasts.conversations.models import Conversation
from tests.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db
Status = Conversation.Status


def login(member) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


def conversation(org, e164: str = "+12025550123", **values) -> Conversation:
    return Conversation.objects.create(
        organization=org, e164=e164, last_activity_at=timezone.now(), **values
    )


def icon(html: str) -> str:
    found = re.search(r'<a [^>]*id="messenger-icon".*?</a>', html, re.S)
    assert found, "no Messenger icon"
    return found.group(0)


def test_every_page_has_the_top_bars_icon_with_the_unread_count(org, staff_member):
    conversation(org)
    conversation(org, "+12025550124")
    conversation(org, "+12025550125", status=Status.CLOSED)
    page = login(staff_member).get(reverse("families:family_list")).content.decode()
    top = icon(page)
    assert 'aria-label="Messenger, 2 unread"' in top
    assert 'data-testid="unread-count-top">2<' in top
    assert f'href="{reverse("conversations:list")}"' in top
    assert "hx-swap-oob" not in top  # only the poll's answer swaps it


def test_a_large_count_is_shortened_on_the_icon_but_not_in_its_name(org, staff_member):
    Conversation.objects.bulk_create(
        Conversation(organization=org, e164=f"+1202555{n:04d}", last_activity_at=timezone.now())
        for n in range(120)
    )
    top = icon(login(staff_member).get(reverse("families:family_list")).content.decode())
    assert "Messenger, 120 unread" in top and ">99+<" in top


def test_the_unread_poll_answers_the_link_and_the_icon_out_of_band(org, staff_member):
    client = login(staff_member)
    answer = client.get(reverse("conversations:unread")).content.decode()
    assert 'id="messenger-link"' in answer and "unread-count" not in answer
    assert 'aria-label="Messenger"' in icon(answer)
    conversation(org)
    answer = client.get(reverse("conversations:unread")).content.decode()
    assert 'data-testid="unread-count">1<' in answer
    top = icon(answer)
    assert 'hx-swap-oob="true"' in top and 'data-testid="unread-count-top">1<' in top


def test_the_icon_is_hidden_exactly_as_the_link_is(org):
    conversation(org)
    no_logs = StaffMemberFactory(organization=org, can_view_text_logs=False)
    page = login(no_logs).get(reverse("families:family_list")).content.decode()
    assert "messenger-icon" not in page and "Messenger" not in page
    no_sending = StaffMemberFactory(organization=org, can_send_texts=False)
    page = login(no_sending).get(reverse("families:family_list")).content.decode()
    assert 'id="messenger-link"' in page and 'id="messenger-icon"' in page


def test_another_organizations_unread_texts_are_not_counted(org, other_org, staff_member):
    conversation(other_org)
    page = login(staff_member).get(reverse("families:family_list")).content.decode()
    assert 'aria-label="Messenger"' in icon(page) and "unread-count-top" not in page


# --- The open thread ---


def timeline_poll(client, pk: int, seen: str) -> str:
    url = reverse("conversations:timeline", args=[pk])
    return client.get(url, {"seen": seen}).content.decode()


def test_the_thread_page_tells_its_poll_what_it_shows(org, staff_member):
    thread = conversation(org)
    page = login(staff_member).get(reverse("conversations:detail", args=[thread.pk]))
    text = page.content.decode()
    assert 'data-state="open-0"' in text  # opening it read it
    assert f"{reverse('conversations:timeline', args=[thread.pk])}?seen=open-0" in text


def test_the_poll_leaves_the_head_alone_while_nothing_changed(org, staff_member):
    thread = conversation(org, status=Status.OPEN)
    answer = timeline_poll(login(staff_member), thread.pk, "open-0")
    assert 'id="timeline"' in answer and "thread-head" not in answer


def test_a_status_changed_elsewhere_comes_with_the_poll(org, staff_member):
    thread = conversation(org, status=Status.OPEN)
    other = StaffMemberFactory(organization=org, first_name="Kim", last_name="Lee")
    services.conversation_move(conversation=thread, to=Status.CLOSED, by=other)
    answer = timeline_poll(login(staff_member), thread.pk, "open-0")
    head = answer[answer.index('id="thread-head"') - 30 :]
    assert 'hx-swap-oob="true"' in head and 'data-state="closed-0"' in head
    assert 'data-testid="thread-status">Closed<' in head
    assert ">Reopen</button>" in head and ">Close</button>" not in head
    assert "?seen=closed-0" in answer  # the next poll knows the page shows it now


def test_an_assignee_changed_elsewhere_comes_with_the_poll(org, staff_member):
    thread = conversation(org, status=Status.OPEN)
    other = StaffMemberFactory(organization=org, first_name="Kim", last_name="Lee")
    services.conversation_assign(conversation=thread, to=other)
    answer = timeline_poll(login(staff_member), thread.pk, "open-0")
    assert f'data-state="open-{other.pk}"' in answer and "Take it (from Kim Lee)" in answer


def test_a_text_arriving_makes_the_open_thread_unread_in_place(org, staff_member):
    thread = conversation(org, status=Status.OPEN)
    Conversation.objects.filter(pk=thread.pk).update(status=Status.UNREAD, unread_count=1)
    answer = timeline_poll(login(staff_member), thread.pk, "open-0")
    assert 'data-testid="thread-status">Unread<' in answer and ">Mark read</button>" in answer
    thread.refresh_from_db()
    assert thread.status == Status.UNREAD  # polling is not reading


def test_another_organizations_thread_is_not_polled(org, other_org, staff_member):
    theirs = conversation(other_org)
    url = reverse("conversations:timeline", args=[theirs.pk])
    assert login(staff_member).get(url, {"seen": "open-0"}).status_code == 404
