from django import template

from credits.pricing import format_usd

register = template.Library()


@register.filter
def usd(cents: int | None) -> str:
    """Whole US cents as dollars: ``{{ 1234|usd }}`` → ``US$12.34``."""
    return format_usd(int(cents or 0))
