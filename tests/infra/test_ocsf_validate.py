"""The OCSF validator against the offline 1.1.0 fixture: a minimal Authentication event passes, and each kind of
check catches the one thing broken in an otherwise valid event (so a check that silently stopped working, or a
fixture that lost its attributes, shows up here rather than as a landed event wrongly passing)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import ocsf_validate

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "ocsf" / "ocsf-1.1.0.json"


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(FIXTURE.read_text())


def authentication() -> dict[str, Any]:
    """A minimal valid Authentication (3002) Logon, shaped as pyarrow's to_pylist() gives a row: absent values are
    None, as a Parquet struct column has them."""
    return {
        "activity_id": 1,
        "category_uid": 3,
        "class_uid": 3002,
        "type_uid": 300201,
        "severity_id": 1,
        "time": 1_706_200_000_000,
        "status_id": 1,
        "message": None,
        "metadata": {
            "version": "1.1.0",
            "product": {"name": "Tributary", "vendor_name": "Tributary", "version": None},
            "profiles": None,
        },
        "user": {"name": "alice", "uid": "u-1", "type_id": None},
        "src_endpoint": {"ip": "192.0.2.10", "port": None},
        "dst_endpoint": {"hostname": "login.example.com", "port": 443},  # Authentication needs service or this
        "unmapped": '{"vendor_field": "kept as JSON text"}',
        "observables": None,
    }


def errors_of(schema: dict, **changes: Any) -> list[str]:
    """The errors of the minimal event with `changes` applied; `a__b=v` sets event["a"]["b"] = v."""
    event = copy.deepcopy(authentication())
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = event
        for name in parents:
            target = target[name]
        target[leaf] = value
    return ocsf_validate.validate(event, schema)


def test_minimal_authentication_is_valid(schema):
    assert ocsf_validate.validate(authentication(), schema) == []


def test_a_parquet_round_trip_stays_valid(schema):
    """Through Arrow, a row gets every column and struct field any row has, as None where it has no value; absent
    values must not count as attributes."""
    other = authentication()
    other["user"]["email_addr"] = "bob@example.com"
    other["session"] = {"uid": "s-1", "is_remote": True}
    rows = pa.Table.from_pylist([other, authentication()]).to_pylist()  # columns come from the first row
    assert rows[1]["session"] is None and rows[1]["user"]["email_addr"] is None
    assert [ocsf_validate.validate(row, schema) for row in rows] == [[], []]


def test_fixture_holds_the_classes_and_their_objects(schema):
    """The validator trusts the fixture; this catches a fixture that lost a class or an object it refers to."""
    assert schema["version"] == "1.1.0"
    assert set(schema["classes"]) == {"0", "2004", "3001", "3002", "3004", "5001", "6001", "6003"}
    records = list(schema["classes"].values()) + list(schema["objects"].values())
    for record in records:
        for attr in record["attributes"].values():
            assert ocsf_validate.base_type(schema, attr["type"]) in {
                "string_t", "integer_t", "long_t", "float_t", "boolean_t", "json_t", "object_t"
            }
            if attr["type"] == "object_t":
                assert attr["object_type"] in schema["objects"]
        for kind, names in record.get("constraints", {}).items():
            assert kind in {"at_least_one", "just_one"} and names
            assert set(names) <= set(record["attributes"])
    assert schema["classes"]["3002"]["constraints"] == {"at_least_one": ["service", "dst_endpoint"]}
    assert schema["objects"]["user"]["constraints"] == {"at_least_one": ["account", "name", "uid"]}


def test_unknown_attribute_is_reported_with_its_path(schema):
    assert errors_of(schema, user__nickname="al") == ["user.nickname: not an attribute of user"]
    assert errors_of(schema, colour="blue") == ["colour: not an attribute of authentication"]


def test_json_content_is_free(schema):
    """`unmapped` is the schema's generic object: vendor fields inside it are not unknown attributes."""
    assert errors_of(schema, unmapped={"anything": {"nested": [1, 2]}}) == []


def test_wrong_type(schema):
    assert errors_of(schema, time="2024-01-25T14:17:23Z") == [
        "time: expected timestamp_t (long_t), epoch milliseconds, got str '2024-01-25T14:17:23Z'"
    ]
    assert errors_of(schema, severity_id=True) == ["severity_id: expected integer_t, got bool True"]


def test_missing_required_attribute(schema):
    assert errors_of(schema, user=None) == ["user: required attribute is absent"]


def test_profile_attribute_is_required_only_when_its_profile_is_declared(schema):
    """The cloud profile makes `cloud` required, but only for events whose metadata.profiles lists it."""
    assert errors_of(schema, metadata__profiles=["cloud"]) == ["cloud: required attribute is absent"]
    assert errors_of(schema, metadata__profiles=["cloud"], cloud={"provider": "AWS", "region": "eu-west-1"}) == []


def test_value_outside_the_enum(schema):
    assert errors_of(schema, status_id=7) == ["status_id: 7 is not one of the enum values [0, 1, 2, 99]"]


def test_other_needs_its_caption(schema):
    assert errors_of(schema, status_id=99) == ["status_id: is 99 (Other) but status is absent"]
    assert errors_of(schema, status_id=99, status="Challenged") == []


def test_type_uid_must_follow_class_and_activity(schema):
    assert errors_of(schema, type_uid=300202) == [
        "type_uid: 300202 is not class_uid * 100 + activity_id (300201)"
    ]


def test_category_must_be_the_class_category(schema):
    assert errors_of(schema, category_uid=6) == [
        "category_uid: 6 is not the category of class 3002 Authentication (3)"
    ]


def test_unknown_class(schema):
    errors = errors_of(schema, class_uid=4001)
    assert len(errors) == 1 and errors[0].startswith("class_uid: 4001 is not a known class")


def test_nested_object_missing_its_required_attribute(schema):
    assert errors_of(schema, metadata__product={"name": "Tributary", "vendor_name": None}) == [
        "metadata.product.vendor_name: required attribute is absent"
    ]


def test_array_item_of_the_wrong_type(schema):
    good = {"name": "user.name", "type_id": 4, "value": "alice"}
    assert errors_of(schema, observables=[good]) == []
    assert errors_of(schema, observables=[good, "alice"]) == [
        "observables[1]: expected object_t (observable), got str 'alice'"
    ]
    assert errors_of(schema, metadata__labels=["a", 7]) == ["metadata.labels[1]: expected string_t, got int 7"]
    assert errors_of(schema, metadata__labels="a") == ["metadata.labels: expected an array of string_t, got str 'a'"]


def test_at_least_one_constraint(schema):
    """OCSF's `user` needs at least one of account, name, uid; Authentication needs service or dst_endpoint."""
    assert errors_of(schema, user={"type_id": 0}) == ["user: needs at least one of account, name, uid"]
    assert errors_of(schema, user={"type_id": 0, "account": {"uid": "123456789012", "type_id": 10}}) == []
    assert errors_of(schema, dst_endpoint=None) == ["(event): needs at least one of service, dst_endpoint"]
    assert errors_of(schema, dst_endpoint=None, service={"name": "sshd"}) == []


def test_constraint_of_an_array_item(schema):
    assert errors_of(schema, user__groups=[{"name": "admins"}, {"type": "local"}]) == [
        "user.groups[1]: needs at least one of name, uid"
    ]


def test_just_one_constraint(schema):
    """No class or object in the fixture has a just_one constraint (in OCSF 1.1.0 only Authorize Session, 3003, has
    one: just_one of privileges, group), so the check is exercised on a copy of the schema that gives `user` one."""
    schema = copy.deepcopy(schema)
    schema["objects"]["user"]["constraints"] = {"just_one": ["name", "uid"]}
    assert errors_of(schema, user={"name": "alice"}) == []
    assert errors_of(schema) == ["user: needs exactly one of name, uid, has name, uid"]
    assert errors_of(schema, user={"type_id": 0}) == ["user: needs exactly one of name, uid, has none"]
