import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.db.utils import DatabaseError

from credits.models import CreditAccount, LedgerEntry
from credits.selectors import credits_balance
from credits.services import InsufficientCredits, credits_adjust, credits_debit, credits_refund
from tests.credits.factories import fund
from tests.factories import OrganizationFactory, UserFactory

Kind = LedgerEntry.Kind


def entries_sum(org) -> int:
    return LedgerEntry.objects.for_org(org).aggregate(total=Sum("credits"))["total"] or 0


@pytest.mark.django_db
def test_a_new_organization_has_no_credits(org):
    assert credits_balance(organization=org) == 0


@pytest.mark.django_db
def test_a_debit_takes_credits_and_records_why(org):
    fund(org, 1000)
    user = UserFactory()
    entry = credits_debit(
        organization=org, credits=300, reference="broadcast:7", actor=user, memo="Snow day"
    )
    assert credits_balance(organization=org) == 700
    assert (entry.kind, entry.credits, entry.balance_after, entry.reference, entry.memo) == (
        Kind.DEBIT,
        -300,
        700,
        "broadcast:7",
        "Snow day",
    )
    assert entry.actor == user
    assert entry.organization == org


@pytest.mark.django_db
def test_a_debit_larger_than_the_balance_is_refused_and_changes_nothing(org):
    fund(org, 800)
    with pytest.raises(InsufficientCredits) as refused:
        credits_debit(organization=org, credits=1200, reference="broadcast:1")
    assert str(refused.value) == "This needs 1,200 credits but only 800 are available."
    assert (refused.value.needed, refused.value.available) == (1200, 800)
    assert credits_balance(organization=org) == 800
    assert not LedgerEntry.objects.for_org(org).filter(kind=Kind.DEBIT).exists()


@pytest.mark.django_db
def test_a_debit_on_an_organization_that_never_had_credits_is_refused(org):
    with pytest.raises(InsufficientCredits, match="only 0 are available"):
        credits_debit(organization=org, credits=1, reference="broadcast:1")
    assert credits_balance(organization=org) == 0


@pytest.mark.django_db
@pytest.mark.parametrize("credits", [0, -5, "abc", 1.5, True, None, 10**9 + 0.5])
def test_a_debit_of_anything_but_a_positive_whole_number_is_a_value_error(org, credits):
    fund(org, 100)
    with pytest.raises(ValueError, match="positive whole number"):
        credits_debit(organization=org, credits=credits, reference="broadcast:1")
    assert credits_balance(organization=org) == 100


@pytest.mark.django_db
def test_a_debit_inside_a_rolled_back_transaction_leaves_no_trace(org):
    fund(org, 500)
    with pytest.raises(RuntimeError), transaction.atomic():
        credits_debit(organization=org, credits=200, reference="broadcast:9")
        raise RuntimeError("recipient creation failed")
    assert credits_balance(organization=org) == 500
    assert not LedgerEntry.objects.for_org(org).filter(reference="broadcast:9").exists()


@pytest.mark.django_db
def test_insufficient_credits_inside_a_callers_transaction_keeps_the_callers_work_usable(org):
    fund(org, 10)
    with transaction.atomic():
        with pytest.raises(InsufficientCredits):
            credits_debit(organization=org, credits=20, reference="broadcast:3")
        # The caller's transaction is still usable after the refusal.
        credits_debit(organization=org, credits=5, reference="broadcast:4")
    assert credits_balance(organization=org) == 5


@pytest.mark.django_db
def test_a_refund_gives_credits_back_once_per_reference(org):
    fund(org, 100)
    credits_debit(organization=org, credits=40, reference="broadcast:1")
    first = credits_refund(organization=org, credits=2, reference="recipient:55", memo="failed")
    again = credits_refund(organization=org, credits=2, reference="recipient:55", memo="failed")
    assert first is not None and first.kind == Kind.REFUND and first.credits == 2
    assert again is None
    assert credits_balance(organization=org) == 62
    assert LedgerEntry.objects.for_org(org).filter(reference="recipient:55").count() == 1


@pytest.mark.django_db
def test_the_same_refund_reference_in_two_organizations_refunds_both(org, other_org):
    fund(org, 10)
    fund(other_org, 10)
    assert credits_refund(organization=org, credits=1, reference="recipient:1") is not None
    assert credits_refund(organization=other_org, credits=1, reference="recipient:1") is not None
    assert credits_balance(organization=org) == credits_balance(organization=other_org) == 11


@pytest.mark.django_db
@pytest.mark.parametrize("credits", [0, -1, "2"])
def test_a_refund_of_anything_but_a_positive_whole_number_is_a_value_error(org, credits):
    with pytest.raises(ValueError):
        credits_refund(organization=org, credits=credits, reference="recipient:1")
    assert not LedgerEntry.objects.for_org(org).exists()


@pytest.mark.django_db
def test_an_adjustment_cannot_take_the_balance_below_zero(org):
    fund(org, 5)
    with pytest.raises(InsufficientCredits):
        credits_adjust(organization=org, credits=-6, memo="correction")
    credits_adjust(organization=org, credits=-5, memo="correction")
    assert credits_balance(organization=org) == 0


@pytest.mark.django_db
def test_ledger_entries_cannot_be_edited_or_deleted(org):
    entry = fund(org, 100)
    entry.memo = "changed"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        LedgerEntry.objects.for_org(org).update(memo="changed")
    with pytest.raises(PermissionError):
        LedgerEntry.objects.for_org(org).delete()


@pytest.mark.django_db
def test_the_database_refuses_to_edit_or_delete_ledger_entries_even_with_raw_sql(org):
    entry = fund(org, 100)
    for sql in (
        "UPDATE credits_ledgerentry SET credits = 1000 WHERE id = %s",
        "DELETE FROM credits_ledgerentry WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.id])
    assert LedgerEntry.objects.get(id=entry.id).credits == 100


@pytest.mark.django_db
def test_deleting_the_actor_detaches_their_entries_and_keeps_them(org):
    user = UserFactory()
    entry = credits_adjust(organization=org, credits=10, memo="goodwill", actor=user)
    user.delete()
    entry = LedgerEntry.objects.get(id=entry.id)
    assert entry.actor is None
    assert entry.actor_label == user.username


@pytest.mark.django_db
def test_the_database_refuses_a_negative_balance(org):
    fund(org, 3)
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditAccount.objects.for_org(org).update(balance=-1)


@pytest.mark.django_db
def test_the_database_refuses_an_entry_whose_sign_contradicts_its_kind(org):
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            organization=org, kind=Kind.DEBIT, credits=5, balance_after=5, reference="x"
        )


@pytest.mark.django_db
def test_the_audit_passes_when_entries_sum_to_every_balance(org, other_org, capsys):
    fund(org, 100)
    credits_debit(organization=org, credits=30, reference="broadcast:1")
    credits_refund(organization=org, credits=3, reference="recipient:1")
    fund(other_org, 7)
    call_command("credits_audit")
    assert "OK: 2 credit account(s) match their ledger." in capsys.readouterr().out


@pytest.mark.django_db
def test_the_audit_fails_and_names_the_organization_when_a_balance_drifts(org, other_org):
    fund(org, 100)
    fund(other_org, 100)
    CreditAccount.objects.for_org(org).update(balance=150)
    with pytest.raises(CommandError, match="1 credit account"):
        call_command("credits_audit")


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_debits_never_overdraw_and_the_entries_sum_to_the_balance():
    org = OrganizationFactory()
    fund(org, 100)  # covers 10 debits of 10
    barrier = threading.Barrier(20)
    outcomes: list[str] = []

    def debit(n: int) -> None:
        try:
            barrier.wait()
            credits_debit(organization=org, credits=10, reference=f"broadcast:{n}")
            outcomes.append("debited")
        except InsufficientCredits:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=debit, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["debited"] * 10 + ["refused"] * 10
    assert credits_balance(organization=org) == 0
    assert entries_sum(org) == 0
    assert LedgerEntry.objects.for_org(org).filter(kind=Kind.DEBIT).count() == 10
    call_command("credits_audit")


@pytest.mark.django_db(transaction=True)
def test_first_uses_of_a_new_organization_at_once_create_one_account():
    org = OrganizationFactory()
    barrier = threading.Barrier(8)
    errors: list[Exception] = []

    def refund(n: int) -> None:
        try:
            barrier.wait()
            credits_refund(organization=org, credits=1, reference=f"recipient:{n}")
        except Exception as error:  # a duplicate-account error is the bug this test looks for
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=refund, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert CreditAccount.objects.for_org(org).count() == 1
    assert credits_balance(organization=org) == entries_sum(org) == 8


@pytest.mark.django_db(transaction=True)
def test_two_workers_refunding_the_same_recipient_at_once_refund_once():
    org = OrganizationFactory()
    fund(org, 50)
    barrier = threading.Barrier(6)
    results: list[object] = []

    def refund() -> None:
        try:
            barrier.wait()
            results.append(credits_refund(organization=org, credits=4, reference="recipient:9"))
        finally:
            connection.close()

    threads = [threading.Thread(target=refund) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result is not None for result in results) == 1
    assert credits_balance(organization=org) == 54
    assert entries_sum(org) == 54
