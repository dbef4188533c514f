"""An independent Splunk HEC client library (splunk-data-sender) against the receiver: batched concatenated
envelopes, gzip and plain bodies, channels in the header and in the URL, ack queries, health, the raw endpoint."""

import uuid

import pytest
import requests
from splunk_data_sender import SplunkSender

from conftest import account_event, audit_event


def sender(receiver, **overrides):
    options = dict(
        endpoint="127.0.0.1",
        port=str(receiver.port),
        protocol="http",
        verify=False,
        token=receiver.hec_token,
        source="strivacity",
        source_type="json",
        index="strivacity",
        hostname="tenant.strivacity.example",
        channel=str(uuid.uuid4()),
        channel_in="header",
        retry_count=0,
        timeout=30,
    )
    options.update(overrides)
    return SplunkSender(**options)


def test_batched_gzip_events_land_and_are_acknowledged(receiver):
    run = uuid.uuid4().hex[:8]
    events = [account_event(f"hec-{run}-{i}") for i in range(4)] + [audit_event(f"hec-{run}-audit")]
    hec = sender(receiver, max_buf_size=5)
    for event in events[:-1]:
        assert hec.send_data(event) is None  # buffered until the batch is full
    reply = hec.send_data(events[-1])
    assert reply["text"] == "Success" and reply["code"] == 0
    assert hec.send_acks(reply["ackId"]) == {"acks": {str(reply["ackId"]): True}}
    landed = receiver.records_with_ids([e.get("eventId") or e["eventID"] for e in events])
    assert len(landed) == 5
    audit = next(r for r in landed if r["event"]["id"] == f"hec-{run}-audit")
    assert audit["event"]["dataset"] == "strivacity.audit"
    assert audit["tributary"]["hec"]["host"] == "tenant.strivacity.example"


def test_plain_bodies_and_channels_in_the_url_work_too(receiver):
    run = uuid.uuid4().hex[:8]
    hec = sender(receiver, compress=False, channel_in="url")
    first = hec.send_data([account_event(f"url-{run}-0"), account_event(f"url-{run}-1")])
    second = hec.send_data(account_event(f"url-{run}-2"))
    assert first["code"] == 0 and second["ackId"] == first["ackId"] + 1
    assert len(receiver.records_with_ids([f"url-{run}-{i}" for i in range(3)])) == 3


def test_health_is_reported_healthy(receiver):
    assert sender(receiver).get_health() is True


def test_raw_endpoint_lands_the_body_line_as_sent(receiver):
    run = uuid.uuid4().hex[:8]
    raw = sender(receiver, api_url="collector/raw", channel_in="url")
    reply = raw.send_data(["login succeeded run " + run, "logout run " + run])
    assert reply["code"] == 0
    # This library writes its JSON envelopes even to the raw endpoint, back to back on one line; raw data is
    # broken into events at line ends, so that is one event, kept whole as text.
    landed = [r for r in receiver.records() if run in r.get("message", "")]
    assert len(landed) == 1
    assert "login succeeded run " + run in landed[0]["strivacity"]["message"]
    assert "logout run " + run in landed[0]["strivacity"]["message"]


def test_an_unknown_token_is_refused_with_code_4(receiver):
    hec = sender(receiver, token=str(uuid.uuid4()))
    with pytest.raises(requests.HTTPError) as error:
        hec.send_data(account_event("never-lands"))
    assert error.value.response.status_code == 403
    assert error.value.response.json() == {"text": "Invalid token", "code": 4}


def test_a_batch_with_a_bad_event_still_lands_the_good_ones(receiver):
    run = uuid.uuid4().hex[:8]
    hec = sender(receiver, compress=False)
    events = [account_event(f"bad-{run}-0"), account_event(f"bad-{run}-1"), "", account_event(f"bad-{run}-3")]
    with pytest.raises(requests.HTTPError) as error:
        hec.send_data(events)
    assert error.value.response.status_code == 400
    assert error.value.response.json() == {
        "text": "Event field cannot be blank",
        "code": 13,
        "invalid-event-number": 2,
    }
    landed = receiver.records_with_ids([f"bad-{run}-{i}" for i in (0, 1, 3)])
    assert len(landed) == 3
