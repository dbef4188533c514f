"""The template against the code it deploys: every function is a workspace binary, every variable the code needs
is set, IAM is scoped to each function's own vendor, and the contracts the template repeats (state table keys,
metric names, key layout) match the shared library's."""

from __future__ import annotations

import json
import re

import pytest

from workspace import (
    ROOT,
    reached_sources,
    sdk_actions,
    binary_of,
    crate_of_binary,
    documented_variables,
    env_reads,
    function_env,
    functions,
    load_template,
    workspace_crates,
)

VENDORS = {"transmit", "easysend", "lookout", "strivacity"}
TRANSMIT_TYPES = {"cis", "admin", "risk", "verify"}

# Actions that AWS authorizes only against "*" (no resource-level permissions). A statement may use
# Resource "*" only if every action in it is one of these.
ACTIONS_WITHOUT_RESOURCES = {
    "cloudwatch:PutMetricData",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}


@pytest.fixture(scope="module")
def template():
    return load_template()


@pytest.fixture(scope="module")
def crates():
    return workspace_crates()


def function_crate(crates, fn):
    crate = crate_of_binary(crates, binary_of(fn))
    assert crate is not None, f"binary {binary_of(fn)} is not built by any workspace crate"
    return crate


def vendor_of(crate_name: str) -> str:
    return crate_name.split("-")[0]


def test_every_function_is_a_cargo_lambda_build_of_a_workspace_binary(template, crates):
    globals_ = template["Globals"]["Function"]
    assert globals_["Runtime"] == "provided.al2023"
    assert globals_["Architectures"] == ["arm64"]
    assert globals_["Handler"] == "bootstrap"
    # sam build runs cargo-lambda in CodeUri and looks for target/lambda/<binary>: the workspace root.
    assert (ROOT / "infra" / globals_["CodeUri"]).resolve() == ROOT
    deployed = set()
    for name, fn in functions(template).items():
        assert fn["Metadata"]["BuildMethod"] == "rust-cargolambda", name
        crate = function_crate(crates, fn)
        assert crate.path.parent == ROOT / "functions", f"{name} deploys {crate.name}, which is not a function"
        deployed.add(crate.name)
    function_crates = {c.name for c in crates.values() if c.path.parent == ROOT / "functions"}
    assert deployed == function_crates, f"function crates not deployed: {function_crates - deployed}"


def test_every_function_sets_memory_and_timeout(template):
    for name, fn in functions(template).items():
        props = fn["Properties"]
        assert 128 <= props["MemorySize"] <= 10240, name
        assert 1 <= props["Timeout"] <= 900, name


def _reads(template, crates):
    shared = crates.get("tributary-shared")
    for name, fn in functions(template).items():
        crate = function_crate(crates, fn)
        yield name, crate, env_reads(crate, shared), function_env(template, name)


def test_template_sets_every_variable_a_function_requires(template, crates):
    for name, crate, reads, env in _reads(template, crates):
        missing = sorted(reads.required - env)
        assert not missing, f"{name} ({crate.name}) requires {missing} but the template does not set them"


def test_every_variable_a_function_reads_is_set_or_has_a_documented_default(template, crates):
    documented = documented_variables()
    for name, crate, reads, env in _reads(template, crates):
        for var in sorted(reads.names - env):
            default = documented.get(var)
            assert default not in (None, "", "—", "-", "(required)"), (
                f"{name} ({crate.name}) reads {var} ({reads.where[var]}): set it in infra/template.yaml or "
                f"document its default in the README configuration table"
            )


def test_template_sets_no_variable_the_function_does_not_read(template, crates):
    for name, crate, reads, env in _reads(template, crates):
        stale = sorted(v for v in env - reads.names if v.startswith("TRIBUTARY_"))
        assert not stale, f"the template sets {stale} for {name}, but {crate.name} never reads them"


def test_every_variable_anywhere_in_the_code_is_documented(crates):
    documented = documented_variables()
    from workspace import EnvReads

    reads = EnvReads()
    for crate in crates.values():
        if crate.path.parent in (ROOT / "functions", ROOT / "shared", ROOT / "tools"):
            for path in crate.sources():
                reads.add_file(path)
    missing = sorted(reads.names - set(documented))
    assert not missing, f"the README configuration table lacks {missing} (first read in {[reads.where[m] for m in missing]})"


def _allow_statements(template):
    """(resource, statement) for every Allow statement of every identity policy in the template."""
    for res_name, res in template["Resources"].items():
        policies = []
        if res["Type"] == "AWS::IAM::Role":
            for policy in res["Properties"].get("Policies", []):
                if isinstance(policy, dict) and "Fn::If" in policy:
                    policies += [p for p in policy["Fn::If"][1:] if isinstance(p, dict) and "PolicyDocument" in p]
                else:
                    policies.append(policy)
            assert not res["Properties"].get("ManagedPolicyArns"), f"{res_name}: managed policies are not scoped"
        elif res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            policies.append(res["Properties"])
        elif res["Type"] == "AWS::Serverless::Function":
            assert "Policies" not in res["Properties"], f"{res_name}: give it a role of its own, not SAM policies"
        for policy in policies:
            for statement in policy["PolicyDocument"]["Statement"]:
                if statement["Effect"] == "Allow":
                    yield res_name, statement


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_no_iam_statement_grants_wildcard_actions_or_resources(template):
    seen = 0
    for res_name, statement in _allow_statements(template):
        seen += 1
        actions = _as_list(statement["Action"])
        for action in actions:
            assert "*" not in action, f"{res_name}: wildcard action {action}"
        for resource in _as_list(statement["Resource"]):
            if resource == "*":
                assert set(actions) <= ACTIONS_WITHOUT_RESOURCES, (
                    f"{res_name}: Resource '*' for {actions}, which support narrower resources"
                )
            elif isinstance(resource, str):
                assert not re.fullmatch(r"arn:[^:]+:[^:]+:[^:]*:[^:]*:\*", resource), f"{res_name}: {resource}"
    assert seen >= 5


def test_resource_policies_allow_only_services_or_the_public_function_url(template):
    for res_name, res in template["Resources"].items():
        doc = res["Properties"].get("PolicyDocument") if isinstance(res.get("Properties"), dict) else None
        if res["Type"] in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            for statement in doc["Statement"]:
                if statement["Effect"] == "Allow":
                    assert statement["Principal"] != "*", f"{res_name} allows everyone"
                    assert "Condition" in statement, f"{res_name}: a service principal without a source condition"
        if res["Type"] == "AWS::Lambda::Permission" and res["Properties"]["Principal"] == "*":
            props = res["Properties"]
            assert props["FunctionName"] == {"Ref": "StrivacityReceiverFunction"}, res_name
            assert props.get("FunctionUrlAuthType") == "NONE" or props.get("InvokedViaFunctionUrl") is True, res_name


def _role_statements(template, fn_name):
    role = template["Resources"][fn_name]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = []
    for policy in template["Resources"][role]["Properties"]["Policies"]:
        if "Fn::If" in policy:
            continue  # the optional KMS key, checked by the wildcard test
        statements += policy["PolicyDocument"]["Statement"]
    return role, statements


# The one function that reads every vendor's landing: it writes elsewhere (Security Lake), never to the landing.
LANDING_READER = "security-lake-writer"


def _conditional_statements(template, fn_name, condition):
    """The statements of a role's policies that apply under `condition` (`!If [condition, policy, NoValue]`)."""
    role = template["Resources"][fn_name]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = []
    for policy in template["Resources"][role]["Properties"]["Policies"]:
        if "Fn::If" in policy and policy["Fn::If"][0] == condition:
            statements += policy["Fn::If"][1]["PolicyDocument"]["Statement"]
    return statements


def test_each_function_has_its_own_role_scoped_to_its_own_vendor(template, crates):
    roles = set()
    for name, fn in functions(template).items():
        vendor = vendor_of(function_crate(crates, fn).name)
        role, statements = _role_statements(template, name)
        assert role not in roles, f"{name} shares role {role}"
        roles.add(role)
        if function_crate(crates, fn).name == LANDING_READER:
            _assert_reads_the_landing_only(name, statements)
            continue
        for st in statements:
            text = json.dumps(st)
            for other in VENDORS - {vendor}:
                assert other not in text.lower().replace("tributary", ""), f"{name}'s role mentions {other}: {text}"
            if _as_list(st["Action"]) == ["s3:ListBucket"]:
                assert st["Resource"] == {"Fn::GetAtt": ["LandingBucket", "Arn"]}
                prefix = st["Condition"]["StringLike"]["s3:prefix"]
                assert prefix == {"Fn::Sub": f"${{LandingPrefix}}/vendor={vendor}/*"}, f"{name} lists {prefix}"
            elif any(a.startswith("s3:") for a in _as_list(st["Action"])):
                assert st["Resource"] == {"Fn::Sub": f"${{LandingBucket.Arn}}/${{LandingPrefix}}/vendor={vendor}/*"}
            if any(a.startswith("dynamodb:") for a in _as_list(st["Action"])):
                assert st["Resource"] == {"Fn::GetAtt": ["StateTable", "Arn"]}
                keys = st["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                assert keys == [f"{vendor}#*"], f"{name} may touch other streams' state: {keys}"
            if any(a.startswith("logs:") for a in _as_list(st["Action"])):
                group = st["Resource"]["Fn::GetAtt"][0]
                log_group = template["Resources"][name]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
                assert group == log_group, f"{name} may write to {group}"


def _assert_reads_the_landing_only(name, statements):
    landing = 0
    for st in statements:
        text = json.dumps(st)
        assert not any(v in text.lower().replace("tributary", "") for v in VENDORS), f"{name} names a vendor: {text}"
        assert "dynamodb" not in text and "StateTable" not in text, f"{name} has no state: {text}"
        if "LandingBucket" in text:
            landing += 1
            actions = _as_list(st["Action"])
            assert set(actions) <= {"s3:GetObject", "s3:ListBucket"}, f"{name} may change the landing: {actions}"
            if actions == ["s3:ListBucket"]:
                assert st["Condition"]["StringLike"]["s3:prefix"] == {"Fn::Sub": "${LandingPrefix}/vendor=*"}
            else:
                assert st["Resource"] == {"Fn::Sub": "${LandingBucket.Arn}/${LandingPrefix}/vendor=*"}
    assert landing == 2, f"{name} reads the landing through a list and a get statement"


def test_schedules_name_the_stream_and_invoke_only_pollers(template, crates):
    by_function: dict[str, set[str]] = {}
    for res_name, res in template["Resources"].items():
        if res["Type"] != "AWS::Scheduler::Schedule":
            continue
        target = res["Properties"]["Target"]
        fn_name = target["Arn"]["Fn::GetAtt"][0]
        payload = json.loads(target["Input"])
        assert set(payload) == {"stream"}, f"{res_name}: {payload}"
        by_function.setdefault(fn_name, set()).add(payload["stream"])
        assert "Condition" in res, f"{res_name} cannot be switched off"
    assert by_function["TransmitPollerFunction"] == TRANSMIT_TYPES
    assert "StrivacityReceiverFunction" not in by_function
    for fn_name in ("EasySendPollerFunction", "LookoutStreamFunction"):
        assert len(by_function[fn_name]) == 1, fn_name


def test_schedule_streams_are_ones_the_functions_accept(template, crates):
    """Each scheduled stream name appears as a string literal in the function's own crate: a renamed stream in
    the code without the template following would make every scheduled run fail."""
    for res_name, res in template["Resources"].items():
        if res["Type"] != "AWS::Scheduler::Schedule":
            continue
        fn_name = res["Properties"]["Target"]["Arn"]["Fn::GetAtt"][0]
        crate = function_crate(crates, template["Resources"][fn_name])
        stream = json.loads(res["Properties"]["Target"]["Input"])["stream"]
        source = "\n".join(p.read_text() for p in crate.sources())
        assert f'"{stream}"' in source, f"{res_name}: {crate.name} never names stream {stream!r}"


def _shared_const(path: str, name: str) -> str:
    text = (ROOT / "shared" / "src" / path).read_text()
    match = re.search(rf'pub const {name}: &str = "([^"]+)";', text)
    assert match, f"shared/src/{path} no longer defines {name}"
    return match.group(1)


def test_state_table_matches_the_state_contract(template):
    table = template["Resources"]["StateTable"]["Properties"]
    pk = _shared_const("state.rs", "PARTITION_KEY")
    assert table["KeySchema"] == [{"AttributeName": pk, "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": pk, "AttributeType": "S"}]
    assert table["TimeToLiveSpecification"] == {
        "AttributeName": _shared_const("state.rs", "TTL_ATTRIBUTE"),
        "Enabled": True,
    }
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


METRIC_CONST = re.compile(r'pub const [A-Z_]+: &str = "([A-Z][A-Za-z]+)";')


def test_alarms_read_metrics_the_functions_emit(template, crates):
    """Every alarm on the functions' embedded metrics names a metric the shared library or that function's own
    crate defines, with the dimensions the EMF lines carry."""
    metrics = (ROOT / "shared" / "src" / "metrics.rs").read_text()
    shared_names = set(METRIC_CONST.findall(metrics))
    assert '"Tributary"' in metrics, "the default namespace moved"
    assert template["Parameters"]["MetricsNamespace"]["Default"] == "Tributary"
    assert '["Function", "Stream"], ["Function"]' in metrics, "the EMF dimension sets moved"
    custom = 0
    for res_name, res in template["Resources"].items():
        if res["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = res["Properties"]
        if props["Namespace"] == "AWS/Lambda":
            assert props["Dimensions"][0]["Name"] == "FunctionName"
            continue
        if props["Namespace"] == "AWS/SQS":
            assert props["Dimensions"][0]["Name"] == "QueueName"
            continue
        custom += 1
        assert props["Namespace"] == {"Ref": "MetricsNamespace"}, res_name
        dims = {d["Name"]: d["Value"] for d in props["Dimensions"]}
        assert set(dims) in ({"Function"}, {"Function", "Stream"}), res_name
        crate = crates.get(dims["Function"])
        assert crate and crate.path.parent == ROOT / "functions", f"{res_name}: {dims['Function']} is no function"
        own_names = set()
        for path in crate.sources():
            own_names |= set(METRIC_CONST.findall(path.read_text()))
        assert props["MetricName"] in shared_names | own_names, f"{res_name}: {crate.name} never emits {props['MetricName']}"
    assert custom >= 8


def test_every_poller_stream_has_a_lag_alarm_and_easysend_a_retention_guard(template):
    lag = set()
    for res in template["Resources"].values():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::CloudWatch::Alarm" and props.get("MetricName") == "CursorLagSeconds":
            dims = {d["Name"]: d["Value"] for d in props["Dimensions"]}
            lag.add((dims["Function"], dims["Stream"]))
    assert {("transmit-poller", t) for t in TRANSMIT_TYPES} <= lag
    assert any(f == "easysend-poller" for f, _ in lag)
    assert any(f == "lookout-stream" for f, _ in lag)
    guard = template["Resources"]["EasySendRetentionGuardAlarm"]["Properties"]
    assert guard["MetricName"] == "RetentionAlarm"
    easysend = template["Resources"]["EasySendPollerFunction"]["Properties"]["Environment"]["Variables"]
    assert easysend["TRIBUTARY_EASYSEND_RETENTION_ALARM_SHARE"] == {"Ref": "EasySendRetentionAlarmShare"}


def test_siem_notifications_route_each_vendor_prefix_to_its_own_queue_with_a_dlq(template):
    bucket = template["Resources"]["LandingBucket"]["Properties"]
    routes = {}
    for config in bucket["NotificationConfiguration"]["QueueConfigurations"]:
        rules = {r["Name"]: r["Value"] for r in config["Filter"]["S3Key"]["Rules"]}
        vendor = re.fullmatch(r"\$\{LandingPrefix\}/vendor=([a-z]+)/", rules["prefix"]["Fn::Sub"]).group(1)
        assert rules["suffix"] == ".ndjson.gz"
        assert config["Event"] == "s3:ObjectCreated:*"
        routes[vendor] = config["Queue"]["Fn::GetAtt"][0]
    assert set(routes) == VENDORS
    assert len(set(routes.values())) == len(VENDORS), "two vendors share a queue"
    for queue in routes.values():
        props = template["Resources"][queue]["Properties"]
        dlq = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert template["Resources"][dlq]["Type"] == "AWS::SQS::Queue"
    allowed = template["Resources"]["SiemQueuePolicy"]["Properties"]["Queues"]
    assert {q["Ref"] for q in allowed} == set(routes.values())


def test_landing_bucket_is_private_encrypted_and_tls_only(template):
    bucket = template["Resources"]["LandingBucket"]
    props = bucket["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert bucket["DeletionPolicy"] == "Retain"
    expiry = props["LifecycleConfiguration"]["Rules"][0]
    assert expiry["ExpirationInDays"] == {"Ref": "RetentionDays"}
    statements = template["Resources"]["LandingBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"].get("Bool", {}).get("aws:SecureTransport") == "false"
        for s in statements
    )


def test_glue_table_projects_the_landing_key_layout(template):
    keys_rs = (ROOT / "shared" / "src" / "keys.rs").read_text()
    assert (
        '"vendor={}/event_type={}/dt={:04}-{:02}-{:02}/hour={:02}"' in keys_rs
    ), "the key layout in shared/src/keys.rs moved"
    table = template["Resources"]["EventsTable"]["Properties"]["TableInput"]
    assert [k["Name"] for k in table["PartitionKeys"]] == ["vendor", "event_type", "dt", "hour"]
    params = table["Parameters"]
    assert params["storage.location.template"] == {
        "Fn::Sub": "s3://${LandingBucket}/${LandingPrefix}/vendor=${!vendor}/event_type=${!event_type}"
        "/dt=${!dt}/hour=${!hour}/"
    }
    assert set(params["projection.vendor.values"].split(",")) == VENDORS
    assert params["projection.dt.format"] == "yyyy-MM-dd"
    assert params["projection.hour.digits"] == "2"
    event_types = set(template["Parameters"]["AthenaEventTypes"]["Default"].split(","))
    assert TRANSMIT_TYPES | {"_unparsed"} <= event_types
    serde = table["StorageDescriptor"]["SerdeInfo"]
    assert serde["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert serde["Parameters"]["mapping.ts"] == "@timestamp"


def test_docs_state_the_memory_and_timeout_the_template_sets(template, crates):
    """docs/deploying.md has a `| function | memory | timeout | why |` table; it must not drift."""
    doc = (ROOT / "docs" / "deploying.md").read_text()
    for name, fn in functions(template).items():
        crate = function_crate(crates, fn)
        props = fn["Properties"]
        row = re.search(rf"^\| `{re.escape(crate.name)}` \| (\d+) MB \| (\d+) s \|", doc, re.M)
        assert row, f"docs/deploying.md has no sizing row for {crate.name}"
        assert (int(row.group(1)), int(row.group(2))) == (props["MemorySize"], props["Timeout"]), crate.name


def test_every_field_the_mappings_set_has_an_athena_column(template, crates):
    """A top-level ECS field a mapping sets (`with_path("user.id", ..)`, `with_field("labels", ..)`) without a
    column in the Glue table is invisible to Athena users."""
    table = template["Resources"]["EventsTable"]["Properties"]["TableInput"]
    columns = {c["Name"] for c in table["StorageDescriptor"]["Columns"]}
    setter = re.compile(r'with_(?:field|path)\(\s*"([a-z0-9_@]+)')
    found = 0
    for crate in crates.values():
        if crate.path.parent != ROOT / "functions":
            continue
        for path in crate.sources():
            for field in setter.findall(path.read_text()):
                found += 1
                assert field in columns, f"{path.relative_to(ROOT)} sets {field}, which has no Athena column"
    assert found > 20


def test_every_template_parameter_is_explained_in_the_deploy_recipe(template):
    doc = (ROOT / "docs" / "deploying.md").read_text()
    missing = [name for name in template["Parameters"] if f"`{name}`" not in doc]
    assert not missing, f"docs/deploying.md does not mention {missing}"


# Calls the shared state module makes for tests and tools only (`create_table`, `list`), never in a function run.
TOOL_ONLY_ACTIONS = {"dynamodb:CreateTable", "dynamodb:Scan"}


def test_each_role_grants_exactly_the_calls_its_code_makes(template, crates):
    """Least privilege from the code: every AWS call a function's code (and the shared code it reaches) makes is
    granted to its role, and the role grants nothing the code never calls."""
    shared = crates.get("tributary-shared")
    for name, fn in functions(template).items():
        crate = function_crate(crates, fn)
        needed = sdk_actions(reached_sources(crate, shared))
        needed = {a: w for a, w in needed.items() if a not in TOOL_ONLY_ACTIONS}
        if "s3:GetObject" in needed:
            # Reading a key that may not exist yet: without ListBucket S3 answers 403 instead of 404.
            needed["s3:ListBucket"] = needed["s3:GetObject"]
        _, statements = _role_statements(template, name)
        if crate.name == LANDING_READER:
            # Its writes to the lake are granted when it writes with its own role (no SecurityLakeRoleArn).
            statements += _conditional_statements(template, name, "SecurityLakeOwnRole")
        # Lambda itself sends a failed asynchronous invocation to the function's failure queue, and polls an SQS
        # event source, with the function's role; the SDK's credential provider assumes the lake's role.
        lambda_made = {"FailureDestination", "EventSourceMapping", "AssumeLakeRole"}
        statements = [st for st in statements if st.get("Sid") not in lambda_made]
        granted = {a for st in statements for a in _as_list(st["Action"]) if not a.startswith("logs:")}
        missing = {a: needed[a] for a in set(needed) - granted}
        assert not missing, f"{name}'s role lacks {missing} (action: first call site)"
        unused = granted - set(needed)
        assert not unused, f"{name}'s role grants {sorted(unused)}, which {crate.name} never calls"


def test_every_schedule_has_an_alarm_for_runs_that_stop(template):
    """A schedule switched off by mistake or a function failing before it reports is silence, not an error: each
    scheduled stream has an alarm on its per-run heartbeat (the TimeLeftMs every run emits) that breaches when
    the runs stop."""
    silent = {}
    for res in template["Resources"].values():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::CloudWatch::Alarm" and props.get("MetricName") == "TimeLeftMs":
            dims = {d["Name"]: d["Value"] for d in props["Dimensions"]}
            assert props["Statistic"] == "SampleCount" and props["TreatMissingData"] == "breaching"
            assert props["ComparisonOperator"] == "LessThanThreshold" and props["Threshold"] == 1
            silent[(dims["Function"], dims["Stream"])] = res.get("Condition")
    for res in template["Resources"].values():
        if res["Type"] != "AWS::Scheduler::Schedule":
            continue
        fn = template["Resources"][res["Properties"]["Target"]["Arn"]["Fn::GetAtt"][0]]
        crate = binary_of(fn)
        stream = json.loads(res["Properties"]["Target"]["Input"])["stream"]
        assert (crate, stream) in silent, f"no silent alarm for {crate}/{stream}"
        assert silent[(crate, stream)] == res["Condition"], f"{crate}/{stream}: alarm and schedule switch apart"
