"""Desa and kecamatan names as citizens and operators write them, to the city's own spelling."""

from __future__ import annotations

from hotline.cityconfig import CityConfig
from hotline.features.broadcasts.errors import UnknownDesa
from hotline.sms.grammar import normalise


def find_desa(config: CityConfig, name: str) -> tuple[str, str] | None:
    """(desa, kecamatan) for a desa named in any case or spacing ("sumber brantas" is not "Sumberbrantas")."""
    wanted = normalise(name)
    for kecamatan in config.areas:
        for desa in kecamatan.desa:
            if normalise(desa) == wanted:
                return desa, kecamatan.name
    return None


def expand(config: CityConfig, names: list[str]) -> list[str]:
    """The desa a broadcast goes to: each name a desa, or a kecamatan (all its desa). Unknown: UnknownDesa."""
    chosen: list[str] = []
    unknown: list[str] = []
    for name in names:
        if not name.strip():
            continue
        # A name that is both (Bumiaji, Junrejo) is the desa; "kecamatan Bumiaji" / "kec. Bumiaji" the kecamatan.
        words = normalise(name).split(" ", 1)
        whole = len(words) == 2 and words[0] in ("kecamatan", "kec")
        found = None if whole else find_desa(config, name)
        if found is not None:
            chosen.append(found[0])
            continue
        wanted = words[1] if whole else normalise(name)
        kecamatan = next((k for k in config.areas if normalise(k.name) == wanted), None)
        if kecamatan is None:
            unknown.append(name)
        else:
            chosen.extend(kecamatan.desa)
    if unknown:
        raise UnknownDesa(f"unknown desa or kecamatan: {', '.join(unknown)} (routing/areas.yaml lists them)")
    if not chosen:
        raise UnknownDesa("no desa chosen: name at least one desa or kecamatan")
    return list(dict.fromkeys(chosen))
