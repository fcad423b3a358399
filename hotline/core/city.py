"""The city's data for this process, and its mirror in the database (agencies, URCs, members)."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig, load_city_config
from hotline.models import Agency, Member, Urc
from hotline.settings import get_settings


@lru_cache(maxsize=4)
def _load(config_dir: str, region: str) -> CityConfig:
    return load_city_config(config_dir, region)


def current_config() -> CityConfig:
    settings = get_settings()
    return _load(str(settings.config_dir), settings.default_region)


def sync_routing(session: Session, *, config: CityConfig) -> None:
    """Upsert agencies, URCs and members by code/phone; whatever left routing/ is deactivated, not deleted
    (old tickets still point at it)."""
    agencies = {a.code: a for a in session.scalars(select(Agency))}
    urcs = {u.code: u for u in session.scalars(select(Urc))}
    members = {(m.urc_id, m.phone): m for m in session.scalars(select(Member))}
    seen_agencies, seen_urcs, seen_members = set(), set(), set()
    for spec in config.agencies:
        agency = agencies.get(spec.code) or Agency(code=spec.code)
        agency.name, agency.sms_name, agency.is_default, agency.active = spec.name, spec.sms_name, spec.default, True
        session.add(agency)
        session.flush()
        seen_agencies.add(agency.id)
        for urc_spec in spec.urcs:
            urc = urcs.get(urc_spec.code) or Urc(code=urc_spec.code)
            urc.agency_id, urc.name, urc.active = agency.id, urc_spec.name, True
            session.add(urc)
            session.flush()
            seen_urcs.add(urc.id)
            for m_spec in urc_spec.members:
                member = members.get((urc.id, m_spec.phone)) or Member(urc_id=urc.id, phone=m_spec.phone)
                member.name, member.role, member.active = m_spec.name, m_spec.role, m_spec.active
                session.add(member)
                session.flush()
                seen_members.add(member.id)
    for agency in agencies.values():
        if agency.id not in seen_agencies:
            agency.active = False
    for urc in urcs.values():
        if urc.id not in seen_urcs:
            urc.active = False
    for member in members.values():
        if member.id not in seen_members:
            member.active = False
