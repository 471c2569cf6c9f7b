"""Matching source columns to a layer's fields, and normalising enumeration/boolean values.

Real files name things their own way (``population_2022``, ``hromada_center``, ``Назва``) and
label values in Ukrainian and English (``"Окуповано /// Occupied"``, ``"Підвал"``,
``"Відсутній"``). :func:`auto_mapping` proposes a mapping ``{layer field: source column}`` that
the user can override; :func:`normalise_choice` maps a label onto the schema's enumeration.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import pandas as pd

from cimic_geo.scenario._names import is_cyrillic_name, transliterate
from cimic_geo.schema import Layer, get_layer

#: Names a source column may have for a layer field, in order of preference (normalised:
#: lower case, non-alphanumerics -> ``_``). ``"layer.field"`` entries apply to one layer only.
FIELD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "id": ("id", "uid", "uuid", "guid", "gppd_idnr", "hromada_center_code", "hromada_code", "hc_id",
           "katotth", "koatuu", "pcode", "code", "osm_id", "full_id", "objectid", "object_id", "fid", "ідентифікатор",
           "код"),
    "name": ("name", "name_en", "name_lat", "title", "label", "назва", "найменування", "name_np", "city"),
    "settlements.name": ("name", "hromada_center", "name_np", "city", "settlement", "locality", "name_en",
                         "name_lat", "назва", "населений_пункт", "adm4_en"),
    "name_uk": ("name_uk", "name_ua", "name_ukr", "name_uk_ua", "назва_укр", "adm4_ua"),
    "admin1": ("admin1", "adm1", "adm1_en", "oblast", "oblast_name", "oblast_name_en", "region", "admin_name",
               "admin_1", "name_obl", "область"),
    "admin2": ("admin2", "adm2", "adm2_en", "raion", "raion_name", "district", "admin_2", "hromada_name", "район"),
    "population": ("population", "population_2022", "population_2021", "pop", "pop_2022", "pop2022",
                   "population_total", "total_population", "населення", "чисельність"),
    "settlement_type": ("settlement_type", "type_np", "place", "type", "тип"),
    "shelters.kind": ("kind", "shelter_kind", "shelter_type", "type", "тип", "вид", "тип_укриття"),
    "capacity": ("capacity", "places", "beds", "capacity_people", "місткість", "кількість_місць"),
    "occupancy": ("occupancy", "occupied", "people", "present", "зайнято", "кількість_осіб"),
    "status": ("status", "state", "condition", "status_result", "стан", "статус"),
    "accessible": ("accessible", "accessibility", "wheelchair", "accessibility_ramp", "ramp", "доступність",
                   "пандус"),
    "settlement_id": ("settlement_id", "settlement_code"),
    "address": ("address", "addr", "addr_street", "full_address", "адреса"),
    "sector": ("sector", "category", "infrastructure_type", "сектор", "галузь"),
    "damage": ("damage", "damage_level", "damage_grade", "пошкодження", "ступінь_пошкодження"),
    "restoration": ("restoration", "restoration_status", "repair_status", "відновлення"),
    "people_served": ("people_served", "served_population", "customers", "population_served", "абоненти"),
    "road_id": ("road_id",),
    "capacity_mw": ("capacity_mw", "mw", "capacity_mwe", "power_mw", "потужність_мвт"),
    "road_class": ("road_class", "highway", "class", "fclass", "категорія"),
    "speed_kmh": ("speed_kmh", "maxspeed", "speed", "швидкість"),
    "bridge": ("bridge", "is_bridge", "міст"),
    "origin": ("origin", "from", "from_name", "start", "звідки"),
    "destination": ("destination", "to", "to_name", "end", "куди"),
    "window_start": ("window_start", "start_time", "date", "opens", "початок"),
    "window_end": ("window_end", "end_time", "closes", "кінець"),
    "notes": ("notes", "note", "comment", "comments", "description", "remarks", "примітка", "опис"),
    "valid_from": ("valid_from", "date", "datetime", "timestamp", "snapshot_date", "as_of", "дата"),
    "valid_to": ("valid_to",),
    "source": ("source", "reported_by", "organisation", "organization", "джерело"),
    "reported_at": ("reported_at", "report_date", "reported", "updated", "last_update", "дата_звіту"),
    "reliability": ("reliability", "admiralty", "admiralty_code", "grading", "надійність"),
}

#: Fields the importer fills itself and never takes from a file automatically.
_NOT_AUTO = {"version", "updated_by", "updated_at"}

#: Extra labels for enumeration values (canonical value -> labels; English and Ukrainian).
VALUE_SYNONYMS: dict[str, tuple[str, ...]] = {
    # shelter kinds
    "blast_shelter": ("shelter", "bomb shelter", "air raid shelter", "basement", "bunker", "укриття",
                      "найпростіше укриття", "сховище", "захисна споруда", "протирадіаційне укриття", "підвал",
                      "підземний паркінг", "паркінг", "паркінг підземний", "цокольний поверх", "метро"),
    "collective_centre": ("collective center", "collective centre", "cc", "idp centre", "idp center",
                          "місце компактного проживання", "мкп", "колективний центр", "модульне містечко"),
    "transit_centre": ("transit center", "transit centre", "transit", "reception centre", "транзитний центр",
                       "транзитний пункт", "пункт прийому"),
    "medical": ("hospital", "clinic", "medical point", "health facility", "лікарня", "медичний пункт",
                "медичний заклад", "поліклініка", "амбулаторія"),
    # shelter / road / corridor statuses
    "open": ("opened", "working", "operational", "available", "active", "відкрито", "відкрите", "відкритий",
             "працює", "діє", "доступне"),
    "full": ("no space", "no places", "overcrowded", "заповнене", "переповнене", "немає місць"),
    "closed": ("shut", "not working", "unavailable", "закрито", "закрите", "зачинено", "не працює"),
    "damaged": ("partly damaged", "пошкоджено", "пошкоджене", "пошкоджений", "пошкоджена"),
    "impassable": ("blocked", "closed", "destroyed", "not passable", "непроїзна", "заблоковано", "перекрито"),
    "draft": ("чернетка",),
    "proposed": ("proposal", "запропоновано", "proposed route/outcome unknown"),
    "agreed": ("approved", "погоджено"),
    "suspended": ("paused", "disrupted", "призупинено"),
    # damage levels
    "none": ("no damage", "intact", "undamaged", "not damaged", "no", "без пошкоджень", "ціле", "неушкоджено"),
    "minor": ("light", "slight", "slightly damaged", "minimal", "незначні", "легкі", "незначне", "легке"),
    "major": ("severe", "heavy", "moderate", "significant", "severely damaged", "значні", "серйозні", "сильні",
              "значне"),
    "destroyed": ("total", "totally destroyed", "completely destroyed", "зруйновано", "зруйноване", "знищено",
                  "повністю зруйновано"),
    # restoration
    "planned": ("scheduled", "заплановано"),
    "in_progress": ("in progress", "ongoing", "under repair", "underway", "триває", "відновлюється",
                    "у процесі"),
    "restored": ("repaired", "fixed", "done", "completed", "відновлено", "відремонтовано"),
    # sectors
    "power": ("electricity", "electric", "energy", "power plant", "power station", "substation", "енергетика",
              "електроенергія", "електропостачання", "електростанція"),
    "water": ("water supply", "wastewater", "sewage", "водопостачання", "водовідведення", "вода"),
    "heating": ("heat", "district heating", "boiler", "теплопостачання", "котельня", "опалення"),
    "gas": ("gas supply", "газ", "газопостачання"),
    "telecom": ("telecommunications", "communications", "mobile", "internet", "зв'язок", "телеком"),
    "health": ("hospital", "medical", "healthcare", "охорона здоров'я", "лікарня", "медицина"),
    "education": ("school", "kindergarten", "university", "освіта", "школа", "садок"),
    "bridge": ("міст",),
    "road": ("дорога", "автодорога"),
    "rail": ("railway", "railroad", "залізниця"),
    # road classes
    "motorway": ("motorway_link", "автомагістраль"),
    "trunk": ("trunk_link", "international", "міжнародна", "м"),
    "primary": ("primary_link", "national", "національна", "н"),
    "secondary": ("secondary_link", "regional", "регіональна", "р"),
    "tertiary": ("tertiary_link", "territorial", "територіальна", "т"),
    "local": ("residential", "unclassified", "service", "living_street", "місцева"),
    "track": ("path", "dirt", "ґрунтова", "польова"),
    # settlement types
    "city": ("місто", "міська", "м.", "city of regional significance"),
    "town": ("смт", "селище", "селищна", "селище міського типу", "urban-type settlement", "smt"),
    "village": ("село", "сільська", "с.", "селище сільського типу", "hamlet"),
}

TRUE_LABELS = frozenset({"true", "t", "yes", "y", "1", "так", "є", "наявний", "наявна", "наявне", "присутній",
                         "available", "present", "accessible", "+"})
FALSE_LABELS = frozenset({"false", "f", "no", "n", "0", "ні", "немає", "відсутній", "відсутня", "відсутнє",
                          "absent", "not available", "none", "-"})


def norm_name(name: object) -> str:
    """Normalised column name: lower case, runs of other characters as ``_``."""
    return re.sub(r"[^0-9a-zа-яіїєґ']+", "_", str(name).strip().lower()).strip("_")


def norm_label(value: object) -> str:
    """Normalised value label: lower case, single spaces (no-break spaces too), trimmed."""
    return re.sub(r"\s+", " ", str(value).replace("\u00a0", " ").replace("’", "'")).strip().lower()


def auto_mapping(layer: str | Layer, columns: Iterable[str]) -> dict[str, str]:
    """Propose ``{layer field: source column}`` from the source's column names.

    A field is matched to the first of its synonyms (:data:`FIELD_SYNONYMS`, the field's own name
    first) that some column carries after normalisation; each column is used at most once.
    """
    spec = get_layer(layer) if isinstance(layer, str) else layer
    by_norm: dict[str, str] = {}
    for c in columns:
        if c == "geometry":
            continue
        by_norm.setdefault(norm_name(c), c)
    used: set[str] = set()
    out: dict[str, str] = {}
    # exact name matches first, so that e.g. a "name" column is not taken by another field
    for col in spec.all_columns:
        if col.name in _NOT_AUTO:
            continue
        c = by_norm.get(norm_name(col.name))
        if c is not None and c not in used:
            out[col.name] = c
            used.add(c)
    for col in spec.all_columns:
        if col.name in out or col.name in _NOT_AUTO:
            continue
        for syn in FIELD_SYNONYMS.get(f"{spec.name}.{col.name}", ()) + FIELD_SYNONYMS.get(col.name, ()):
            c = by_norm.get(norm_name(syn))
            if c is not None and c not in used:
                out[col.name] = c
                used.add(c)
                break
    return out


def _label_parts(label: str) -> list[str]:
    """``"Окуповано /// Occupied"`` -> the whole label and each bilingual part."""
    parts = [label]
    if "///" in label or "/" in label:
        parts += [p.strip() for p in re.split(r"/{2,}|\s/\s", label) if p.strip()]
    return parts


def normalise_choice(
    value: object,
    choices: tuple[str, ...],
    *,
    value_map: Mapping[str, str] | None = None,
) -> str | None:
    """Map a source label onto one of ``choices``; return None when it matches none or several.

    Tries, in order: the user's ``value_map`` (labels compared normalised), the canonical value
    itself (``"In progress"`` -> ``in_progress``), the labels in :data:`VALUE_SYNONYMS`, each part of
    a bilingual ``"uk /// en"`` label, and finally a label that contains exactly one known label
    as a word (``"Найпростіше укриття, Протирадіаційне укриття"`` -> ``blast_shelter``).
    """
    label = norm_label(value)
    if not label:
        return None
    if value_map:
        vm = {norm_label(k): v for k, v in value_map.items()}
        if label in vm:
            target = str(vm[label])
            return target if target in choices else None
    for part in _label_parts(label):
        key = re.sub(r"[\s\-]+", "_", part)
        if key in choices:
            return key
        hits = {c for c in choices if part in VALUE_SYNONYMS.get(c, ())}
        if len(hits) == 1:
            return hits.pop()
    # containment: a known label (>= 4 characters) appearing as a word in the value
    hits = set()
    for c in choices:
        for lab in (c.replace("_", " "), *VALUE_SYNONYMS.get(c, ())):
            if len(lab) >= 4 and re.search(rf"(?<![\w'\-]){re.escape(lab)}(?![\w'\-])", label):
                hits.add(c)
                break
    if len(hits) == 1:
        return hits.pop()
    return None


def normalise_bool(value: object) -> bool | None:
    """``True``/``False`` for yes/no labels in English or Ukrainian; None when not recognised."""
    if isinstance(value, bool):
        return value
    label = norm_label(value)
    if label in TRUE_LABELS:
        return True
    if label in FALSE_LABELS:
        return False
    try:
        f = float(label)
    except ValueError:
        return None
    if f in (0.0, 1.0):
        return bool(f)
    return None


def fill_names(frame: pd.DataFrame) -> pd.DataFrame:
    """Names given only in Ukrainian: ``name_uk`` gets the Ukrainian name and ``name`` its official
    transliteration (``Краматорськ`` -> ``name`` ``Kramatorsk``, ``name_uk`` ``Краматорськ``).

    Applies to rows whose ``name`` holds Cyrillic and no Latin letters; an existing ``name_uk`` is
    kept (``name`` is then transliterated only when it repeats ``name_uk``). Returns a copy (with a
    ``name_uk`` column); call it only for layers that have ``name_uk``.
    """
    if "name" not in frame.columns or not len(frame):
        return frame.copy()
    out = frame.copy()
    if "name_uk" not in out.columns:
        out["name_uk"] = None
    names, uk = out["name"].tolist(), out["name_uk"].tolist()
    for i, (n, u) in enumerate(zip(names, uk, strict=True)):
        if not isinstance(n, str) or not is_cyrillic_name(n):
            continue
        empty_uk = u is None or (isinstance(u, float) and pd.isna(u)) or not str(u).strip()
        if empty_uk or str(u).strip() == n.strip():
            uk[i] = n
            names[i] = transliterate(n)
    out["name"], out["name_uk"] = names, uk
    return out
