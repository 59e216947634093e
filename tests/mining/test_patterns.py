"""The planted timetable comes out of the miner, and the noise around it does not."""

from __future__ import annotations

import math

from eventlens.components import Components
from eventlens.mining.miner import mine_user
from tests.conftest import OTHER_PROJECT
from tests.mining.conftest import GYM, HOME, WORK, plant_user


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat = math.radians((a[0] + b[0]) / 2)
    return 6_371_000 * math.hypot(math.radians(a[0] - b[0]), math.radians(a[1] - b[1]) * math.cos(lat))


def test_planted_places_routines_and_habits_are_found_and_noise_is_not(components: Components) -> None:
    # Given a user living by a timetable, with scattered points and one-off purchases around it
    user = plant_user(components.warehouse)

    # When the user's history is mined
    patterns = mine_user(components.warehouse, "default", user.user_id, components.settings, user.now)

    # Then exactly the three planted places come out, named by when they are visited
    found = {place.name: (place.lat, place.lon) for place in patterns.places}
    assert set(found) == {"Home", "Work", "Place 3"}
    for name, planted in (("Home", HOME), ("Work", WORK), ("Place 3", GYM)):
        assert _metres(found[name], planted) < 30, name
    # and the planted routines, each on its own weekdays and hour
    routines = {routine.name for routine in patterns.routines}
    assert {
        "Home daily around 22:00",
        "Home daily around 06:00",
        "Work on weekdays around 09:00",
        "Work on weekdays around 14:00",
        "Place 3 on Tue, Thu around 19:00",
    } == routines
    # and the two habits, with the share of active days they were kept on; no one-off purchase
    habits = {habit.name: habit for habit in patterns.habits}
    assert set(habits) == {"Latte around 09:00", "running around 07:00"}
    assert 0.65 < habits["Latte around 09:00"].confidence < 0.75  # 40 weekdays of 56 days
    assert 0.35 < habits["running around 07:00"].confidence < 0.48  # 24 of 56


def test_a_user_with_no_history_has_no_patterns(components: Components) -> None:
    # Given a warehouse without the user
    # When the user is mined
    patterns = mine_user(
        components.warehouse, "default", "nobody", components.settings, plant_user(components.warehouse).now
    )

    # Then nothing is found
    assert (patterns.places, patterns.routines, patterns.habits) == ([], [], [])


def test_a_project_is_mined_from_its_own_events_only(components: Components) -> None:
    # Given one user id planted in two projects, living in two cities, and a user in the default one only
    shared = plant_user(components.warehouse).user_id
    plant_user(components.warehouse, project_id=OTHER_PROJECT, user_id=shared, shift=0.5)
    only_default = plant_user(components.warehouse)

    # When each project's user is mined
    def mine(project_id: str, user_id: str) -> dict[str, tuple[float, float]]:
        patterns = mine_user(components.warehouse, project_id, user_id, components.settings, only_default.now)
        return {place.name: (place.lat, place.lon) for place in patterns.places}

    default_places, other_places = mine("default", shared), mine(OTHER_PROJECT, shared)

    # Then each project's places are in its own city, and nothing of the other's is mixed in
    assert set(default_places) == set(other_places) == {"Home", "Work", "Place 3"}
    assert _metres(default_places["Home"], HOME) < 30
    assert _metres(other_places["Home"], (HOME[0] + 0.5, HOME[1])) < 30
    # and a user of the default project is, to the other project, a user with no history
    assert mine(OTHER_PROJECT, only_default.user_id) == {}
