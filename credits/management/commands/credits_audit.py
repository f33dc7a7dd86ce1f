"""``manage.py credits_audit``: every organization's ledger entries must sum to its balance,
and its latest entry must show that balance. Exits non-zero, naming each mismatch, if not."""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Sum

from credits.models import CreditAccount, LedgerEntry


class Command(BaseCommand):
    help = "Check that ledger entries sum to every organization's credit balance."

    def handle(self, *args, **options) -> None:
        problems = audit_problems()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} credit account(s) do not match their ledger")
        count = CreditAccount.objects.count()
        self.stdout.write(f"OK: {count} credit account(s) match their ledger.")


def audit_problems() -> list[str]:
    sums = dict(LedgerEntry.objects.values_list("organization_id").annotate(total=Sum("credits")))
    problems = []
    accounts = CreditAccount.objects.select_related("organization").order_by("organization_id")
    for account in accounts:
        total = sums.pop(account.organization_id, 0)
        last = (
            LedgerEntry.objects.filter(organization_id=account.organization_id)
            .order_by("-id")
            .values_list("balance_after", flat=True)
            .first()
        )
        if total != account.balance or (last or 0) != account.balance:
            problems.append(
                f"{account.organization} (id {account.organization_id}): balance "
                f"{account.balance}, entries sum to {total}, latest entry says {last or 0}"
            )
    for organization_id, total in sums.items():
        problems.append(
            f"organization id {organization_id}: entries sum to {total} but it has no account"
        )
    return problems
