"""What keeps a deployment from going silently wrong: alarms on the SIEM queues and the functions' failure queues,
rules that refuse a schedule without its settings, audit-trail defaults, retention policies, https-only vendor
URLs, optional KMS and X-Ray, and a dashboard over metrics the functions really emit."""

from __future__ import annotations

import json
import re

import pytest

from workspace import ROOT, functions, load_template

VENDOR_QUEUES = {
    "transmit": "TransmitSiemQueue",
    "easysend": "EasySendSiemQueue",
    "lookout": "LookoutSiemQueue",
    "strivacity": "StrivacitySiemQueue",
}
POLLERS = ("TransmitPollerFunction", "EasySendPollerFunction", "LookoutStreamFunction")


@pytest.fixture(scope="module")
def template():
    return load_template()


def resources_of(template, kind):
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


def alarms_on_queue(template, queue, metric):
    found = []
    for name, res in resources_of(template, "AWS::CloudWatch::Alarm").items():
        props = res["Properties"]
        if props["Namespace"] != "AWS/SQS" or props["MetricName"] != metric:
            continue
        dims = {d["Name"]: d["Value"] for d in props["Dimensions"]}
        if dims.get("QueueName") == {"Fn::GetAtt": [queue, "QueueName"]}:
            assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
            found.append(props)
    return found


def test_every_siem_queue_alarms_on_age_and_its_dlq_on_depth(template):
    for vendor, queue in VENDOR_QUEUES.items():
        age = alarms_on_queue(template, queue, "ApproximateAgeOfOldestMessage")
        assert len(age) == 1, f"{vendor}: no alarm on the age of the SIEM queue's oldest notification"
        assert age[0]["Threshold"] == {"Ref": "SiemQueueAgeAlarmSeconds"}
        assert age[0]["ComparisonOperator"] == "GreaterThanThreshold"
        dlq = template["Resources"][queue]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        depth = alarms_on_queue(template, dlq, "ApproximateNumberOfMessagesVisible")
        assert len(depth) == 1, f"{vendor}: no alarm on its SIEM dead-letter queue"
        assert depth[0]["Threshold"] == 1 and depth[0]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # The alarm must fire before the queue's retention drops the notifications.
    retention = template["Resources"]["TransmitSiemQueue"]["Properties"]["MessageRetentionPeriod"]
    param = template["Parameters"]["SiemQueueAgeAlarmSeconds"]
    assert param["Default"] < retention and param["MaxValue"] <= retention


def _evaluate(expr, params):
    """The few rule functions the template uses, evaluated as CloudFormation would."""
    if isinstance(expr, dict):
        (fn, arg), = expr.items()
        if fn == "Ref":
            return params[arg]
        if fn == "Fn::Equals":
            return _evaluate(arg[0], params) == _evaluate(arg[1], params)
        if fn == "Fn::Not":
            return not _evaluate(arg[0], params)
        if fn == "Fn::And":
            return all(_evaluate(a, params) for a in arg)
        if fn == "Fn::Or":
            return any(_evaluate(a, params) for a in arg)
        raise AssertionError(f"rule function {fn} is not evaluated here")
    return expr


def rule_failures(template, **overrides):
    params = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    params.update(overrides)
    failures = []
    for name, rule in template["Rules"].items():
        if "RuleCondition" in rule and not _evaluate(rule["RuleCondition"], params):
            continue
        failures += [name for a in rule["Assertions"] if not _evaluate(a["Assert"], params)]
    return failures


def test_the_defaults_deploy_with_every_schedule_off(template):
    schedules = [n for n in template["Parameters"] if n.endswith("Schedule")]
    assert len(schedules) == 6
    for name in schedules:
        assert template["Parameters"][name]["Default"] == "off", f"{name} is on before its secret can be set"
    assert rule_failures(template) == []


def test_easysend_schedule_cannot_be_switched_on_without_its_player_url(template):
    assert rule_failures(template, EasySendSchedule="rate(5 minutes)") == ["EasySendScheduleNeedsPlayerUrl"]
    assert rule_failures(template, EasySendSchedule="rate(5 minutes)", EasySendPlayerUrl="https://acme.easysend.app") == []


def test_object_lock_cannot_be_chosen_without_versioning(template):
    assert rule_failures(template, ObjectLockMode="COMPLIANCE", Versioning="false") == ["ObjectLockNeedsVersioning"]
    assert rule_failures(template, ObjectLockMode="GOVERNANCE") == []


def test_versioning_is_on_by_default_and_noncurrent_versions_expire(template):
    assert template["Parameters"]["Versioning"]["Default"] == "true"
    rules = template["Resources"]["LandingBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    expiry = [r for r in rules if "NoncurrentVersionExpiration" in r]
    assert expiry and expiry[0]["NoncurrentVersionExpiration"]["NoncurrentDays"] == {
        "Ref": "NoncurrentVersionRetentionDays"
    }
    doc = (ROOT / "docs" / "deploying.md").read_text()
    for words in ("COMPLIANCE", "GOVERNANCE", "overwrite"):
        assert words in doc, f"docs/deploying.md does not explain Object Lock ({words})"


def _queue_of(value):
    return value["Fn::GetAtt"][0]


def test_every_poller_sends_failed_invocations_and_undelivered_ticks_to_its_own_alarmed_queue(template):
    configs = resources_of(template, "AWS::Lambda::EventInvokeConfig")
    by_function = {c["Properties"]["FunctionName"]["Ref"]: c["Properties"] for c in configs.values()}
    queues = {}
    for fn in POLLERS:
        config = by_function[fn]
        queue = _queue_of(config["DestinationConfig"]["OnFailure"]["Destination"])
        assert template["Resources"][queue]["Type"] == "AWS::SQS::Queue", fn
        assert queue not in queues.values(), f"{fn} shares its failure queue"
        queues[fn] = queue
        depth = alarms_on_queue(template, queue, "ApproximateNumberOfMessagesVisible")
        assert len(depth) == 1, f"{fn}: its failure queue has no alarm"
        # Lambda delivers with the function's role: it may send to its own queue and no other.
        role = template["Resources"][template["Resources"][fn]["Properties"]["Role"]["Fn::GetAtt"][0]]
        sends = [
            st["Resource"]
            for policy in role["Properties"]["Policies"]
            if "PolicyDocument" in policy
            for st in policy["PolicyDocument"]["Statement"]
            if "sqs:SendMessage" in json.dumps(st["Action"])
        ]
        assert sends == [{"Fn::GetAtt": [queue, "Arn"]}], f"{fn} may send to {sends}"
    schedules = resources_of(template, "AWS::Scheduler::Schedule")
    assert schedules
    for name, res in schedules.items():
        target = res["Properties"]["Target"]
        fn = target["Arn"]["Fn::GetAtt"][0]
        assert _queue_of(target["DeadLetterConfig"]["Arn"]) == queues[fn], f"{name}: ticks it cannot deliver vanish"
    scheduler = json.dumps(template["Resources"]["SchedulerRole"]["Properties"]["Policies"])
    for queue in queues.values():
        assert queue in scheduler, f"the scheduler may not send undelivered ticks to {queue}"


@pytest.mark.parametrize("kind", ["AWS::SecretsManager::Secret", "AWS::SQS::Queue", "AWS::Logs::LogGroup"])
def test_secrets_queues_and_log_groups_say_what_happens_on_delete_and_replace(template, kind):
    found = resources_of(template, kind)
    assert found
    for name, res in found.items():
        assert res.get("DeletionPolicy") in ("Retain", "Delete"), f"{name} has no DeletionPolicy"
        assert res.get("UpdateReplacePolicy") == res["DeletionPolicy"], f"{name}: UpdateReplacePolicy differs"
    if kind == "AWS::SecretsManager::Secret":
        assert all(r["DeletionPolicy"] == "Retain" for r in found.values()), "a vendor credential goes with the stack"


VENDOR_URL_PARAMETERS = ("TransmitBaseUrl", "EasySendPlayerUrl", "LookoutBaseUrl")


@pytest.mark.parametrize("name", VENDOR_URL_PARAMETERS)
def test_vendor_urls_must_be_https(template, name):
    param = template["Parameters"][name]
    pattern = re.compile(param["AllowedPattern"])
    assert pattern.fullmatch("https://api.example.com/activities/v2")
    assert pattern.fullmatch("https://acme.easysend.app")
    for bad in ("http://api.example.com", "api.example.com", "https://", "ftp://x", "https://a b"):
        assert not pattern.fullmatch(bad), f"{name} accepts {bad!r}"
    assert pattern.fullmatch(param["Default"]) is not None, f"{name}'s default fails its own pattern"


def test_vendor_url_parameters_are_all_checked(template):
    urls = [n for n in template["Parameters"] if n.endswith("Url")]
    assert sorted(urls) == sorted(VENDOR_URL_PARAMETERS)


def test_log_groups_and_alarm_topic_use_the_operations_key_when_given(template):
    conditional = {"Fn::If": ["UseOpsKms", {"Ref": "OperationsKmsKeyArn"}, {"Ref": "AWS::NoValue"}]}
    for name, res in resources_of(template, "AWS::Logs::LogGroup").items():
        assert res["Properties"]["KmsKeyId"] == conditional, name
    assert template["Resources"]["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == conditional
    assert template["Conditions"]["UseOpsKms"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "OperationsKmsKeyArn"}, ""]}]}


def test_xray_tracing_is_optional_and_permitted_only_when_on(template):
    assert template["Globals"]["Function"]["Tracing"] == {"Ref": "Tracing"}
    assert template["Parameters"]["Tracing"]["Default"] == "PassThrough"
    for name, fn in functions(template).items():
        role = template["Resources"][fn["Properties"]["Role"]["Fn::GetAtt"][0]]
        xray = [
            p["Fn::If"] for p in role["Properties"]["Policies"] if "Fn::If" in p and p["Fn::If"][0] == "UseTracing"
        ]
        assert len(xray) == 1, f"{name} cannot send traces when Tracing=Active"
        actions = xray[0][1]["PolicyDocument"]["Statement"][0]["Action"]
        assert set(actions) == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def _dashboard(template):
    body = template["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    # What CloudFormation substitutes: ${Param} and ${AWS::Region}; what is left must be valid JSON.
    return json.loads(re.sub(r"\$\{[A-Za-z:]+\}", "X", body))


def _emitted_metric_names():
    names = set()
    for path in list((ROOT / "shared" / "src").rglob("*.rs")) + list((ROOT / "functions").rglob("src/**/*.rs")):
        names |= set(re.findall(r'pub const [A-Z_]+: &str = "([A-Z][A-Za-z]+)";', path.read_text()))
    return names


def test_dashboard_shows_landed_lag_errors_losses_and_receiver_traffic(template):
    widgets = _dashboard(template)["widgets"]
    expressions = [m[0]["expression"] for w in widgets for m in w["properties"]["metrics"]]
    metrics = {re.search(r'MetricName="([A-Za-z]+)"', e).group(1) for e in expressions}
    wanted = {"EventsLanded", "CursorLagSeconds", "Errors", "PossiblyLostBatches", "SkippedEvents", "Requests",
              "RequestsRejected"}
    assert wanted <= metrics, f"the dashboard lacks {wanted - metrics}"
    aws_metrics = {"Errors", "Throttles", "ApproximateAgeOfOldestMessage"}
    unknown = metrics - _emitted_metric_names() - aws_metrics
    assert not unknown, f"the dashboard plots {unknown}, which no function emits"
    # Widgets must not overlap on the 24-column grid.
    cells = set()
    for w in widgets:
        for x in range(w["x"], w["x"] + w["width"]):
            for y in range(w["y"], w["y"] + w["height"]):
                assert (x, y) not in cells, f"widget {w['properties']['title']} overlaps another"
                cells.add((x, y))
        assert w["x"] + w["width"] <= 24
