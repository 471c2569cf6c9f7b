"""Invented Ukrainian-style place names (Cyrillic) and their official Latin transliteration.

The scenario is an exercise, so no real place names are used; names are built from common
Ukrainian toponym stems and suffixes and transliterated with the Ukrainian national system
(KMU 2010), as on road signs.
"""

from __future__ import annotations

import re

import numpy as np
from translitua import UkrainianKMU, translit

_STEMS = (
    "Берез", "Дуб", "Сосн", "Лип", "Вишн", "Калин", "Озер", "Крут", "Зелен", "Біл", "Черн", "Гор",
    "Яр", "Степ", "Луг", "Камін", "Слав", "Мирн", "Ясн", "Тих", "Сокол", "Вовч", "Лис", "Журавл",
    "Орл", "Весел", "Світл", "Гай", "Вільх", "Тополь", "Ковил", "Криниц", "Бород", "Груш", "Мокр",
    "Сух", "Піщан", "Глин", "Ставк", "Кут", "Млин", "Дібр", "Рів", "Полян", "Межов", "Лоз",
    "Очерет", "Ковал", "Гончар", "Бондар", "Коз", "Ведмед", "Бобр", "Голуб", "Ржав", "Терн",
    "Ожин", "Явір", "Горіх", "Клен", "Осик", "Ялин", "Бузк", "Маків", "Жовт", "Синь", "Рудн",
    "Холодн", "Тепл", "Широк", "Довг", "Висок", "Глибок", "Кам'ян", "Пісок", "Курган", "Могил",
    "Шлях", "Брід", "Перевіз", "Криву", "Ракит", "Чорнобаїв", "Соколян", "Ірпін", "Хуторян",
)
# (suffix, grammatical gender: f feminine, n neuter, m masculine, p plural)
_VILLAGE_SUFFIXES = (
    ("івка", "f"), ("ове", "n"), ("ів", "m"), ("ичі", "p"), ("янка", "f"), ("уватка", "f"),
    ("ин", "m"), ("івці", "p"), ("ище", "n"), ("ки", "p"),
)
_TOWN_SUFFIXES = (("ськ", "m"), ("ів", "m"), ("ове", "n"), ("івськ", "m"), ("ополе", "n"), ("ин", "m"))
_CITY_SUFFIXES = (("оград", "m"), ("ополь", "m"), ("ськ", "m"), ("ів", "m"))
_PREFIXES = {
    "f": ("Нова", "Стара", "Велика", "Мала"),
    "n": ("Нове", "Старе", "Велике", "Мале"),
    "m": ("Новий", "Старий", "Великий", "Малий"),
    "p": ("Нові", "Старі", "Великі", "Малі"),
}

STREETS = (
    "Shevchenka", "Tsentralna", "Shkilna", "Sadova", "Zelena", "Molodizhna", "Lisova", "Soborna",
    "Nezalezhnosti", "Ivana Franka", "Lesi Ukrainky", "Hrushevskoho", "Vyshneva", "Myru", "Polova",
    "Richkova", "Stepova", "Kozatska", "Heroiv Ukrainy", "Vokzalna", "Zavodska", "Likarniana",
)

def transliterate(text: str) -> str:
    """Latin spelling of a Ukrainian name: the official national table (KMU 2010, as on road
    signs), from :mod:`translitua`, including the word-initial ye/yi/y/yu/ya and ``зг`` → ``zgh``."""
    return translit(text, UkrainianKMU)


_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN = re.compile(r"[A-Za-z]")


def has_cyrillic(text: object) -> bool:
    """True when ``text`` holds a Cyrillic letter."""
    return bool(_CYRILLIC.search(str(text or "")))


def is_cyrillic_name(text: object) -> bool:
    """True when ``text`` holds Cyrillic letters and no Latin one (a name given only in Ukrainian)."""
    return has_cyrillic(text) and not _LATIN.search(str(text))


def _combinations(suffixes: tuple[tuple[str, str], ...], *, prefixes: bool) -> list[str]:
    names = []
    for stem in _STEMS:
        for suffix, gender in suffixes:
            base = stem + suffix
            names.append(base)
            if prefixes:
                names.extend(f"{p} {base}" for p in _PREFIXES[gender])
    return names


def place_names(rng: np.random.Generator, kinds: np.ndarray) -> tuple[list[str], list[str]]:
    """Names for settlements of the given kinds (``city``/``town``/``village``).

    Returns (latin names, Cyrillic names). Names are unique while the pool lasts (a few
    thousand); beyond that they repeat, as "Novoselivka" does in reality.
    """
    pools = {
        "city": _combinations(_CITY_SUFFIXES, prefixes=False),
        "town": _combinations(_TOWN_SUFFIXES, prefixes=False),
        "village": _combinations(_VILLAGE_SUFFIXES, prefixes=True),
    }
    used: set[str] = set()
    out_uk: list[str] = [""] * len(kinds)
    for kind in ("city", "town", "village"):
        idx = np.flatnonzero(kinds == kind)
        pool = [n for n in pools[kind] if n not in used]
        order = rng.permutation(len(pool))
        for j, i in enumerate(idx):
            if j < len(order):
                name = pool[order[j]]
            else:  # pool exhausted: repeat names (national scale)
                name = pool[int(rng.integers(len(pool)))]
            out_uk[i] = name
            used.add(name)
    return [transliterate(n) for n in out_uk], out_uk
