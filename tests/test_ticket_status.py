"""Ticket states are one enum (hotline/models/tickets.py TicketStatus, issue 16): its members are the words stored
in tickets.status, and the lists other layers keep of them stay in step with it."""

from __future__ import annotations

import json

import pytest

from hotline.cityconfig.loader import TICKET_STATUSES
from hotline.features.tickets.tickets import CLOSED_STATUSES, OPEN_STATUSES, TRANSITIONS
from hotline.models.tickets import OPEN_WHERE, TicketStatus

pytestmark = pytest.mark.unit


def test_a_state_is_its_word_in_the_database_and_in_json() -> None:
    assert TicketStatus.ROUTED == "routed" and f"{TicketStatus.ON_SITE}" == "on_site"
    assert json.dumps({"status": TicketStatus.AWAITING_CATEGORY}) == '{"status": "awaiting_category"}'
    assert OPEN_WHERE == "status IN ('awaiting_category', 'routed', 'accepted', 'on_site')"  # the partial indexes


def test_the_city_data_checker_and_the_state_machine_know_the_same_states() -> None:
    # cityconfig may not import the models (import rules): its list is kept by hand, and checked here.
    assert set(TICKET_STATUSES) == set(OPEN_STATUSES) | set(CLOSED_STATUSES) == set(TicketStatus) - {TicketStatus.NEW}
    assert set(TRANSITIONS) == set(TICKET_STATUSES)
    assert all(target in TicketStatus for targets in TRANSITIONS.values() for target in targets)
