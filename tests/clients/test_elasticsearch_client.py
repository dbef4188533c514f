"""The official Elasticsearch Python client against the receiver: product check, info, ping and the bulk
helpers (which send PUT /_bulk with the versioned vendor content type)."""

import json
import uuid

import pytest
from elasticsearch import AuthenticationException, Elasticsearch, helpers

from conftest import account_event, audit_event


def client(receiver, **auth):
    if not auth:
        auth = {"api_key": receiver.api_key}
    return Elasticsearch(receiver.base_url, request_timeout=30, **auth)


def test_info_and_ping_pass_the_product_check(receiver):
    es = client(receiver)
    info = es.info()
    assert info["version"]["number"].startswith("8.")
    assert info["tagline"] == "You Know, for Search"
    assert es.ping() is True


def test_bulk_helper_lands_every_document_in_s3(receiver):
    run = uuid.uuid4().hex[:8]
    actions = [{"_index": "strivacity-account", "_source": account_event(f"es-{run}-{i}")} for i in range(25)]
    actions += [{"_index": "strivacity-audit", "_source": audit_event(f"es-{run}-audit")}]
    success, errors = helpers.bulk(client(receiver), actions, chunk_size=10)
    assert (success, errors) == (26, [])
    landed = receiver.records_with_ids([a["_source"].get("eventId") or a["_source"]["eventID"] for a in actions])
    assert len(landed) == 26
    datasets = {r["event"]["id"]: r["event"]["dataset"] for r in landed}
    assert datasets[f"es-{run}-audit"] == "strivacity.audit"
    assert datasets[f"es-{run}-0"] == "strivacity.account"
    first = next(r for r in landed if r["event"]["id"] == f"es-{run}-0")
    assert first["tributary"]["bulk"]["index"] == "strivacity-account"
    assert first["strivacity"]["loginSessionId"] == f"ls-es-{run}-0"


def test_streaming_bulk_reports_per_item_results_in_order(receiver):
    run = uuid.uuid4().hex[:8]
    ids = [f"sb-{run}-{i}" for i in range(5)]
    results = list(
        helpers.streaming_bulk(
            client(receiver),
            ({"_op_type": "create", "_id": i, "_source": account_event(i)} for i in ids),
            index="strivacity-account",
            chunk_size=2,
        )
    )
    assert [ok for ok, _ in results] == [True] * 5
    assert [item["create"]["_id"] for _, item in results] == ids
    assert [item["create"]["status"] for _, item in results] == [201] * 5
    assert len(receiver.records_with_ids(ids)) == 5


def test_basic_auth_users_can_bulk_too(receiver):
    run = uuid.uuid4().hex[:8]
    es = client(receiver, basic_auth=receiver.basic_auth)
    success, _ = helpers.bulk(es, [{"_index": "strivacity", "_source": account_event(f"ba-{run}")}])
    assert success == 1
    assert len(receiver.records_with_ids([f"ba-{run}"])) == 1


def test_a_wrong_api_key_is_refused_and_nothing_lands(receiver):
    run = uuid.uuid4().hex[:8]
    es = client(receiver, api_key=("strivacity", "wrong"))
    with pytest.raises(AuthenticationException):
        helpers.bulk(es, [{"_index": "strivacity", "_source": account_event(f"wrong-{run}")}])
    assert receiver.records_with_ids([f"wrong-{run}"]) == []


def test_bulk_without_raising_keeps_the_good_documents_and_reports_the_bad_one(receiver):
    run = uuid.uuid4().hex[:8]
    actions = [{"_index": "strivacity-account", "_source": account_event(f"pa-{run}-{i}")} for i in range(5)]
    # An index name Elasticsearch refuses: an item error, not a whole-request one.
    actions[2]["_index"] = "Strivacity-Bad"
    success, errors = helpers.bulk(client(receiver), actions, raise_on_error=False)
    assert success == 4
    assert len(errors) == 1
    assert errors[0]["index"]["status"] == 400
    assert errors[0]["index"]["error"]["type"] == "invalid_index_name_exception"
    landed = receiver.records_with_ids([f"pa-{run}-{i}" for i in range(5)])
    assert sorted(r["event"]["id"] for r in landed) == [f"pa-{run}-{i}" for i in (0, 1, 3, 4)]
    kept = [u for u in receiver.unparsed() if f"pa-{run}-2" in json.dumps(u)]
    assert len(kept) == 1
    assert "invalid_index_name_exception" in json.dumps(kept[0])
