"""Who may see farmers' personal data (names, numbers, land): Dinas Pertanian's staff and admins only."""

from __future__ import annotations

from hotline.cityconfig.farming import FarmingRules
from hotline.features.accounts.accounts import Principal


def may_see_farmers(principal: Principal, rules: FarmingRules) -> bool:
    """An admin, or agency staff of the farming agency (routing/farming.yaml `agency`); not operators or
    supervisors of the command center, and not another agency's staff."""
    if not rules.enabled:
        return False
    return principal.role == "admin" or (principal.role == "agency_staff" and principal.agency_code == rules.agency)
