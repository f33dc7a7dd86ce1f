from django import template

from families.models import Guardian
from portal.selectors import PortalAccess, portal_access

register = template.Library()


@register.simple_tag
def guardian_portal_access(guardian: Guardian) -> PortalAccess:
    """``{% guardian_portal_access guardian as access %}`` on the staff family page."""
    return portal_access(guardian=guardian)
