"""Projects and API keys, on both stores: SQLite (embedded) and DynamoDB (moto)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from eventlens.errors import Forbidden, InvalidParameter, Unauthorized
from eventlens.keys import (
    Authenticator,
    KeyStore,
    SqliteKeyStore,
    bearer_key,
    create_key,
    create_project,
    ensure_default_project,
    revoke_key,
    rotate_key,
    set_keyless_routes,
)


@pytest.fixture
def store(key_store: KeyStore) -> KeyStore:
    return key_store


def test_a_new_project_has_a_write_key_and_a_secret_key_that_name_it(store: KeyStore) -> None:
    # Given a new project
    project, write, secret = create_project(store, "shop")
    auth = Authenticator(store)
    # Then its write key may write, its secret key may read and write, both as the project
    assert auth.principal(write, "write").project_id == project.project_id
    assert auth.principal(secret, "secret").project_id == project.project_id
    assert auth.principal(secret, "write").kind == "secret"
    # And the write key may not read
    with pytest.raises(Forbidden):
        auth.principal(write, "secret")
    # And the project is listed with its two keys, whose hints do not give the keys away
    assert [p.name for p in store.projects()] == ["shop"]
    keys = store.api_keys(project.project_id)
    assert sorted(k.kind for k in keys) == ["secret", "write"]
    assert all(len(k.hint) == 14 and k.hint not in (write, secret) for k in keys)


@pytest.mark.parametrize(
    "presented", [None, "", "el_secret_short", "Bearer x", "el_secret_" + "A" * 43, "el_admin_" + "A" * 43]
)
def test_missing_malformed_and_unknown_keys_are_unauthorized(store: KeyStore, presented: str | None) -> None:
    create_project(store, "shop")
    with pytest.raises(Unauthorized) as raised:
        Authenticator(store).principal(presented, "write")
    assert raised.value.field == "authorization"


def test_the_store_keeps_hashes_not_keys(store: KeyStore, tmp_path: Path) -> None:
    # Given a project's keys
    _, write, secret = create_project(store, "shop")
    # Then no stored field holds either key
    stored = repr([vars(k) for k in store.api_keys()])
    assert write not in stored and secret not in stored
    if isinstance(store, SqliteKeyStore):
        raw = store.path.read_bytes()
        assert write.encode() not in raw and secret.encode() not in raw


def test_a_revoked_key_stops_working_and_the_others_do_not(store: KeyStore) -> None:
    project, write, secret = create_project(store, "shop")
    auth = Authenticator(store, cache_seconds=0)
    write_key = next(k for k in store.api_keys(project.project_id) if k.kind == "write")
    # When the write key is revoked
    revoke_key(store, write_key.key_id)
    # Then it is refused, and the secret key still works
    with pytest.raises(Unauthorized):
        auth.principal(write, "write")
    assert auth.principal(secret, "secret").project_id == project.project_id


def test_a_revoked_key_may_work_until_the_cache_forgets_it(store: KeyStore) -> None:
    # Given a key a warm container has seen (the cache is what keeps authentication under 1 ms)
    project, write, _ = create_project(store, "shop")
    auth = Authenticator(store, cache_seconds=3600)
    auth.principal(write, "write")
    revoke_key(store, next(k.key_id for k in store.api_keys(project.project_id) if k.kind == "write"))
    # Then that container accepts it until its cache entry expires, and a fresh one refuses it
    assert auth.principal(write, "write").project_id == project.project_id
    with pytest.raises(Unauthorized):
        Authenticator(store).principal(write, "write")


def test_rotation_keeps_the_old_key_for_the_overlap_only(store: KeyStore) -> None:
    project, _, secret = create_project(store, "shop")
    auth = Authenticator(store, cache_seconds=0)
    old = next(k for k in store.api_keys(project.project_id) if k.kind == "secret")
    # When the secret key is rotated with an hour's overlap
    new, new_plain, ending = rotate_key(store, old.key_id, timedelta(hours=1))
    # Then both work, as the same project, and the old one carries its end
    assert auth.principal(secret, "secret").project_id == auth.principal(new_plain, "secret").project_id
    assert new.kind == "secret" and ending.expires_at is not None
    # And rotated again with no overlap, the newer old key stops at once
    _, newest, _ = rotate_key(store, new.key_id, timedelta(0))
    with pytest.raises(Unauthorized):
        auth.principal(new_plain, "secret")
    assert auth.principal(newest, "secret").project_id == project.project_id


def test_keys_of_one_project_never_name_another(store: KeyStore) -> None:
    a, a_write, _ = create_project(store, "a")
    b, b_write, _ = create_project(store, "b")
    _, extra = create_key(store, b.project_id, "write")
    auth = Authenticator(store)
    assert auth.principal(a_write, "write").project_id == a.project_id
    assert {auth.principal(k, "write").project_id for k in (b_write, extra)} == {b.project_id}


def test_the_default_project_is_made_once(store: KeyStore) -> None:
    made = ensure_default_project(store)
    assert made is not None and made[0].project_id == "default"
    assert ensure_default_project(store) is None
    with pytest.raises(InvalidParameter):
        create_project(store, "default", project_id="default")


def test_the_bearer_key_is_read_from_the_authorization_header_in_any_case() -> None:
    assert bearer_key({"authorization": "Bearer el_write_x"}) == "el_write_x"
    assert bearer_key({"Authorization": "bearer  el_write_x "}) == "el_write_x"
    assert bearer_key({"authorization": "Basic abc"}) is None
    assert bearer_key({}) is None and bearer_key(None) is None


def test_a_key_made_elsewhere_can_be_imported_once_and_only_in_the_shape_of_its_kind(store: KeyStore) -> None:
    project, _, _ = create_project(store, "shop")
    shipped = "el_write_" + "k" * 43
    # When a key already shipped in an app is imported
    create_key(store, project.project_id, "write", plain=shipped)
    # Then it authenticates as the project, and it cannot be imported twice or as another kind
    assert Authenticator(store).principal(shipped, "write").project_id == project.project_id
    for kind, plain in (("write", shipped), ("secret", shipped), ("write", "el_write_short")):
        with pytest.raises(InvalidParameter):
            create_key(store, project.project_id, kind, plain=plain)  # type: ignore[arg-type]


def test_keyless_routes_belong_to_one_project_per_kind_and_can_be_taken_back(store: KeyStore) -> None:
    a, _, _ = create_project(store, "a")
    b, _, _ = create_project(store, "b")
    auth = Authenticator(store, cache_seconds=0)
    # Off by default
    with pytest.raises(Unauthorized):
        auth.principal(None, "write", keyless_route=True)
    # When a opts in to keyless ingest and then b to both, b holds both kinds
    set_keyless_routes(store, a.project_id, {"write"})
    assert auth.principal(None, "write", keyless_route=True).project_id == a.project_id
    set_keyless_routes(store, b.project_id, {"write", "secret"})
    assert {auth.principal(None, k, keyless_route=True).project_id for k in ("write", "secret")} == {
        b.project_id
    }
    # And only on keyless routes; taken back, no request without a key passes
    with pytest.raises(Unauthorized):
        auth.principal(None, "write", keyless_route=False)
    set_keyless_routes(store, b.project_id, set())
    with pytest.raises(Unauthorized):
        auth.principal(None, "secret", keyless_route=True)
