"""template.yaml: the security and sizing properties issue 5 asks for, then cfn-lint and checkov.

The template is read with cfn-lint's own decoder (CloudFormation's short tags become
``{"Ref": ...}``/``{"Fn::Sub": ...}``), so every assertion looks at what CloudFormation gets.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recognizer.api.errors import CLIENT_ERROR_STATUS
from recognizer.settings import Settings
from tests.infra.cfn_values import Stack
from tests.infra.lambda_image import (
    REPO_ROOT,
    TEMPLATE,
    dockerfile,
    function_properties,
    template,
)
from tests.infra.tool_venv import tool_venv

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
LAMBDA_SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
HTTP_API_INTEGRATION_TIMEOUT = 30
CHECKOV_REQUIREMENTS = REPO_ROOT / "requirements-checkov.txt"
BUCKETS = ("MapsBucket", "SiteBucket")


def resource(name: str) -> dict:
    return template()["Resources"][name]


def properties(name: str) -> dict:
    return resource(name)["Properties"]


def distribution() -> dict:
    return properties("Distribution")["DistributionConfig"]


def behaviors() -> list[dict]:
    return [distribution()["DefaultCacheBehavior"], *distribution().get("CacheBehaviors", [])]


def api_behavior() -> dict:
    (behavior,) = [b for b in distribution()["CacheBehaviors"] if b["PathPattern"] == "/api/*"]
    return behavior


def origin(origin_id: str) -> dict:
    (found,) = [o for o in distribution()["Origins"] if o["Id"] == origin_id]
    return found


# The stack issue 27 names: a 40-character stack name in ap-southeast-2 at Stage "production".
LONG_STACK = "digit-recognizer-production-sydney-stack"
assert len(LONG_STACK) == 40


def stack(**parameters) -> Stack:
    """One deployment of the template to resolve its values for (``stack(Stage="dev")``)."""
    return Stack(template(), name=LONG_STACK, region="ap-southeast-2", parameters={"Stage": "production", **parameters})


def maps_bucket_name(deployed: Stack | None = None) -> str:
    return (deployed or stack()).resolve(properties("MapsBucket")["BucketName"])


def content_security_policy(deployed: Stack | None = None) -> dict[str, list[str]]:
    config = properties("SecurityHeadersPolicy")["ResponseHeadersPolicyConfig"]
    csp = config["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    assert csp["Override"] is True
    text = (deployed or stack()).resolve(csp["ContentSecurityPolicy"])
    directives = [d.split() for d in text.split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


def statements(policy_resource: str) -> list[dict]:
    return properties(policy_resource)["PolicyDocument"]["Statement"]


def as_list(value):
    return value if isinstance(value, list) else [value]


# --- the function -----------------------------------------------------------------------------


def test_function_is_an_image_built_by_the_dockerfile_from_the_repo_root():
    function = resource("RecognizerFunction")
    assert function["Properties"]["PackageType"] == "Image"
    metadata = function["Metadata"]
    context = (TEMPLATE.parent / metadata["DockerContext"]).resolve()
    assert context == REPO_ROOT
    assert (context / metadata["Dockerfile"]).resolve() == REPO_ROOT / "functions" / "Dockerfile"
    assert metadata["DockerTag"]
    assert function["Properties"]["ImageConfig"]["Command"] == list(dockerfile().cmd)


def test_function_times_out_before_the_gateway_does():
    props = function_properties()
    assert 3 <= props["Timeout"] < HTTP_API_INTEGRATION_TIMEOUT
    assert 512 <= props["MemorySize"] <= 10240
    assert props["Architectures"] in (["x86_64"], ["arm64"])


def test_reserved_concurrency_is_a_parameter_where_zero_means_unreserved():
    parameter = template()["Parameters"]["ReservedConcurrency"]
    assert parameter["Type"] == "Number" and parameter["Default"] == 0
    condition = template()["Conditions"]["HasReservedConcurrency"]
    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ReservedConcurrency"}, 0]}]}
    assert function_properties()["ReservedConcurrentExecutions"] == {
        "Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }


def _settings_variables() -> set[str]:
    """The environment variables recognizer/settings.py documents in its table."""
    source = (REPO_ROOT / "functions" / "recognizer" / "settings.py").read_text()
    return set(re.findall(r"^\| ([A-Z][A-Z0-9_]+) \|", source, flags=re.MULTILINE))


def test_environment_sets_only_variables_the_code_reads():
    variables = function_properties()["Environment"]["Variables"]
    assert variables["MAPS_BUCKET"] == {"Fn::Sub": properties("MapsBucket")["BucketName"]["Fn::Sub"]}
    assert variables["POWERTOOLS_SERVICE_NAME"] and variables["POWERTOOLS_METRICS_NAMESPACE"]
    own = {name for name in variables if not name.startswith("POWERTOOLS_")}
    assert own <= _settings_variables(), own - _settings_variables()


@pytest.mark.parametrize("variable", ["MAX_UPLOAD_BYTES", "MAX_BATCH_BYTES"])
def test_upload_limits_fit_lambdas_payload_limit_once_base64_encoded(variable: str):
    limit = int(function_properties()["Environment"]["Variables"][variable])
    event_overhead = 64 * 1024  # headers, request context, multipart framing
    assert limit * 4 / 3 + event_overhead <= LAMBDA_SYNC_PAYLOAD_LIMIT


def test_log_group_keeps_the_functions_logs_for_the_retention_parameter():
    logs = properties("RecognizerLogGroup")
    assert logs["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${RecognizerFunction}"}
    assert logs["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert properties("ApiAccessLogGroup")["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert template()["Parameters"]["Stage"]["Type"] == "String"


# --- the HTTP API ----------------------------------------------------------------------------


def test_http_api_routes_api_paths_to_the_function_with_throttling():
    (event,) = function_properties()["Events"].values()
    assert event["Type"] == "HttpApi"
    assert event["Properties"]["ApiId"] == {"Ref": "HttpApi"}
    assert event["Properties"]["Path"] == "/api/{proxy+}"
    assert event["Properties"]["Method"].upper() == "ANY"
    api = properties("HttpApi")
    # The $default stage: requests arrive with CloudFront's /api/... paths unchanged.
    assert "StageName" not in api
    throttling = api["DefaultRouteSettings"]
    assert throttling["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    assert throttling["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}


# --- buckets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bucket", BUCKETS)
def test_bucket_blocks_all_public_access_and_acls(bucket: str):
    props = properties(bucket)
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert "AccessControl" not in props and "WebsiteConfiguration" not in props


@pytest.mark.parametrize("bucket", BUCKETS)
def test_bucket_is_encrypted(bucket: str):
    (rule,) = properties(bucket)["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")


@pytest.mark.parametrize("bucket", BUCKETS)
def test_bucket_policy_denies_every_request_without_tls(bucket: str):
    (policy_name,) = [
        name
        for name, res in template()["Resources"].items()
        if res["Type"] == "AWS::S3::BucketPolicy" and res["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    denials = [
        s
        for s in statements(policy_name)
        if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denials) == 1
    (deny,) = denials
    assert deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert {"Fn::GetAtt": [bucket, "Arn"]} in deny["Resource"]
    assert {"Fn::Sub": f"${{{bucket}.Arn}}/*"} in deny["Resource"]


def test_maps_bucket_deletes_uploads_and_maps_after_one_day_corrections_after_a_year_and_keeps_no_versions():
    from recognizer import jobs, storage

    props = properties("MapsBucket")
    rules = props["LifecycleConfiguration"]["Rules"]
    assert all(rule["Status"] == "Enabled" and "Filter" not in rule for rule in rules)
    expiry = {rule.get("Prefix", ""): rule["ExpirationInDays"] for rule in rules if "ExpirationInDays" in rule}
    # Every prefix the function writes expires, each by its own rule (S3 applies the shortest
    # of overlapping rules: a rule for every object would take corrections after a day too).
    assert expiry == {
        f"{storage.PREFIX}/": 1,
        f"{storage.UPLOADS}/": 1,
        f"{storage.CORRECTIONS}/": 365,
        f"{jobs.JOBS}/": 7,  # a bulk job's files, state and results
    }
    (abort,) = [rule for rule in rules if "AbortIncompleteMultipartUpload" in rule]
    assert abort["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1 and "Prefix" not in abort
    # A versioned bucket would keep people's uploads as noncurrent versions past expiry.
    assert props.get("VersioningConfiguration", {}).get("Status") in (None, "Suspended")


def test_what_the_site_and_the_api_say_of_corrections_is_what_the_bucket_does():
    """The consent people give says "for one year": the rule must keep corrections that long."""
    (rule,) = [r for r in properties("MapsBucket")["LifecycleConfiguration"]["Rules"] if r["Id"] == "ExpireCorrections"]
    assert rule["ExpirationInDays"] == 365
    page = (REPO_ROOT / "site" / "index.html").read_text()
    assert "kept, for one year, to train the network again" in page
    assert (
        "after 365 days" in (REPO_ROOT / "functions" / "recognizer" / "api" / "routes" / "predictions.py").read_text()
    )


def test_site_bucket_is_read_only_by_this_distribution_through_oac():
    allows = [s for s in statements("SiteBucketPolicy") if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "AllowCloudFrontReadThroughOac",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": {"Fn::Sub": "${SiteBucket.Arn}/*"},
            "Condition": {
                "StringEquals": {
                    "AWS:SourceArn": {
                        "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}"
                    }
                }
            },
        }
    ]
    site = origin("site")
    assert site["DomainName"] == {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]}
    assert site["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    assert site["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy OAI
    oac = properties("SiteOriginAccessControl")["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )


# --- least privilege -------------------------------------------------------------------------


def test_function_may_read_and_write_only_the_maps_bucket():
    policies = function_properties()["Policies"]
    # No managed policies or SAM policy templates: only the statements below.
    assert all(isinstance(p, dict) and set(p) == {"Statement"} for p in policies)
    object_actions = {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
    allowed: dict[str, set[str]] = {}
    for policy in policies:
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            if statement["Action"] == "states:StartExecution":  # bulk jobs: its one state machine
                assert statement["Resource"] == {"Ref": "JobsStateMachine"}
                continue
            for action in as_list(statement["Action"]):
                assert "*" not in action
                for res in as_list(statement["Resource"]):
                    allowed.setdefault(json.dumps(res, sort_keys=True), set()).add(action)
    bucket = f"arn:aws:s3:::{maps_bucket_name()}"
    resolved = {stack().resolve(json.loads(resource)): actions for resource, actions in allowed.items()}
    assert resolved == {
        f"{bucket}/predictions/*": object_actions,
        f"{bucket}/uploads/*": object_actions,
        f"{bucket}/corrections/*": {"s3:PutObject"},  # written only: never read, listed or deleted
        f"{bucket}/jobs/*": {"s3:GetObject", "s3:PutObject"},  # job.json, the files' POST, the results' links
        bucket: {"s3:ListBucket"},
    }
    (listing,) = [s for p in policies for s in p["Statement"] if s["Action"] == "s3:ListBucket"]
    # Its own two prefixes only (a missing upload is told apart from a refusal by listing it).
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["predictions/*", "uploads/*", "jobs/*"]}}


# --- CloudFront ------------------------------------------------------------------------------


def test_every_behavior_is_https_only_and_so_is_the_api_origin():
    for behavior in behaviors():
        assert behavior["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only")
    api = origin("api")["CustomOriginConfig"]
    assert api["OriginProtocolPolicy"] == "https-only"
    assert api["OriginSSLProtocols"] == ["TLSv1.2"]
    assert distribution()["DefaultRootObject"] == "index.html"


def test_site_is_the_cached_default_origin_with_pretty_urls():
    default = distribution()["DefaultCacheBehavior"]
    assert default["TargetOriginId"] == "site"
    assert default["CachePolicyId"] == CACHING_OPTIMIZED
    (association,) = default["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    assert association["FunctionARN"] == {"Fn::GetAtt": ["PrettyUrlsFunction", "FunctionMetadata.FunctionARN"]}


def test_api_paths_go_uncached_to_the_http_api_with_every_method():
    behavior = api_behavior()
    assert behavior["TargetOriginId"] == "api"
    assert behavior["CachePolicyId"] == CACHING_DISABLED
    assert behavior["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST
    assert {"GET", "POST", "DELETE", "OPTIONS"} <= set(behavior["AllowedMethods"])
    assert origin("api")["DomainName"] == {"Fn::Sub": "${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    # An error page would replace the API's own JSON errors: only 403, which the API never
    # answers through CloudFront, gets one (the site's 404 page, below).
    pages = [entry for entry in distribution().get("CustomErrorResponses", []) if "ResponsePagePath" in entry]
    assert [entry["ErrorCode"] for entry in pages] == [403]
    assert 403 not in CLIENT_ERROR_STATUS.values()


def test_security_headers_apply_to_the_site_and_the_api():
    for behavior in behaviors():
        assert behavior["ResponseHeadersPolicyId"] == {"Ref": "SecurityHeadersPolicy"}
    headers = properties("SecurityHeadersPolicy")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    hsts = headers["StrictTransportSecurity"]
    assert hsts["Override"] and hsts["AccessControlMaxAgeSec"] >= 31536000
    assert headers["ContentTypeOptions"]["Override"]
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] in (
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
    )


def test_content_security_policy_is_strict():
    csp = content_security_policy()
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    every_source = [source for sources in csp.values() for source in sources]
    assert not [s for s in every_source if s.startswith("'unsafe") or s in ("*", "https:", "http:")]


def test_csp_allows_images_from_and_posts_to_the_maps_buckets_regional_host_only():
    """The host the function signs presigned URLs and POSTs for (tests/test_lambda_events.py
    checks it), named as the bucket is named (not referred to: the bucket's CORS rule names the
    distribution, which uses this policy)."""
    host = f"https://{maps_bucket_name()}.s3.ap-southeast-2.amazonaws.com"
    csp = content_security_policy()
    img = csp["img-src"]
    assert [source for source in img if source.startswith("https://")] == [host]
    assert set(img) - {host} == {"'self'", "data:", "blob:"}
    assert csp["connect-src"] == ["'self'", host]
    assert stack().resolve(function_properties()["Environment"]["Variables"]["MAPS_BUCKET"]) == maps_bucket_name()


def test_the_maps_bucket_takes_posts_from_the_sites_origin_only():
    (rule,) = properties("MapsBucket")["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["POST"]
    condition, custom, default = rule["AllowedOrigins"]["Fn::If"]
    assert condition == "HasCustomDomain"
    assert default == [{"Fn::Sub": "https://${Distribution.DomainName}"}]
    assert "https://${Distribution.DomainName},https://${Aliases}" in json.dumps(custom)


def _run_pretty_urls(uri: str) -> str:
    code = properties("PrettyUrlsFunction")["FunctionCode"]
    script = code + f"\nconsole.log(handler({{request: {{uri: {json.dumps(uri)}}}}}).uri);\n"
    done = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.strip()


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the CloudFront Function")
@pytest.mark.parametrize(
    ("uri", "rewritten"),
    [
        ("/", "/index.html"),
        ("/feature_maps", "/feature_maps.html"),
        ("/icons/", "/icons/index.html"),
        ("/js/app.js", "/js/app.js"),
        ("/manifest.webmanifest", "/manifest.webmanifest"),
    ],
)
def test_pretty_urls_function_maps_paths_to_files(uri: str, rewritten: str):
    assert _run_pretty_urls(uri) == rewritten


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the CloudFront Function")
def test_feature_maps_page_exists_where_the_function_sends_it():
    assert (REPO_ROOT / "site" / _run_pretty_urls("/feature_maps").lstrip("/")).is_file()


def test_outputs_name_what_deploying_and_publishing_need():
    outputs = template()["Outputs"]
    for name in ("SiteUrl", "ApiUrl", "MapsBucketName", "SiteBucketName", "DistributionId"):
        assert outputs[name]["Value"], name
    assert outputs["SiteUrl"]["Value"] == {"Fn::Sub": "https://${Distribution.DomainName}"}
    # The way in is CloudFront's: no output names the execute-api endpoint, which refuses
    # requests that do not come through CloudFront anyway.
    assert outputs["ApiUrl"]["Value"] == {"Fn::Sub": "https://${Distribution.DomainName}/api"}
    assert "execute-api" not in json.dumps(outputs)


# --- linters ---------------------------------------------------------------------------------


# --- running it for the public: alarms, a custom domain, a per-client rate limit --------------


ALARMS = {
    "FunctionErrorsAlarm": ("AWS/Lambda", "Errors", {"FunctionName": {"Ref": "RecognizerFunction"}}),
    "FunctionThrottlesAlarm": ("AWS/Lambda", "Throttles", {"FunctionName": {"Ref": "RecognizerFunction"}}),
    "FunctionDurationAlarm": ("AWS/Lambda", "Duration", {"FunctionName": {"Ref": "RecognizerFunction"}}),
    "Api5xxAlarm": ("AWS/ApiGateway", "5xx", {"ApiId": {"Ref": "HttpApi"}, "Stage": "$default"}),
    "ServerErrorsAlarm": ("DigitRecognizer", "ServerErrorResponses", {}),
}


@pytest.mark.parametrize("name", list(ALARMS))
def test_alarms_watch_function_errors_throttles_and_api_5xx_and_tell_the_topic(name: str):
    namespace, metric, dimensions = ALARMS[name]
    alarm = properties(name)
    assert (alarm["Namespace"], alarm["MetricName"]) == (namespace, metric)
    assert {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])} == dimensions
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}] and alarm["OKActions"] == [{"Ref": "AlarmTopic"}]
    assert alarm["TreatMissingData"] == "notBreaching"  # no traffic is not an alarm
    assert alarm["Period"] * alarm["EvaluationPeriods"] <= 300 and alarm["Threshold"] >= 1


def test_alarm_mail_is_optional_and_cloudwatch_may_publish_to_the_topic():
    assert template()["Parameters"]["AlarmEmail"]["Default"] == ""
    assert resource("AlarmEmailSubscription")["Condition"] == "HasAlarmEmail"
    assert properties("AlarmEmailSubscription")["Protocol"] == "email"
    assert template()["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    # CloudWatch cannot publish to a topic under an AWS-managed key (alias/aws/sns): its policy
    # cannot let CloudWatch in, and no alarm would ever be delivered. A key of the template's own
    # would do, if its policy lets cloudwatch.amazonaws.com use it; docs/deploy.md says why none.
    key = properties("AlarmTopic").get("KmsMasterKeyId")
    if key is not None:
        assert not (isinstance(key, str) and key.startswith("alias/aws/")), key
        ((reference, name),) = key.items() if isinstance(key, dict) else [("Ref", None)]
        key_policy = json.dumps(properties(name if reference == "Ref" else name[0])["KeyPolicy"])
        assert "cloudwatch.amazonaws.com" in key_policy and "kms:GenerateDataKey" in key_policy
    else:
        skips = {skip["id"] for skip in resource("AlarmTopic")["Metadata"]["checkov"]["skip"]}
        assert "CKV_AWS_26" in skips  # unencrypted on purpose, said where checkov asks
    pattern = re.compile(template()["Parameters"]["AlarmEmail"]["AllowedPattern"])
    assert pattern.match("") and pattern.match("ops@example.com") and not pattern.match("not an address")


def test_a_custom_domain_is_optional_and_needs_a_us_east_1_certificate():
    parameters = template()["Parameters"]
    assert parameters["CertificateArn"]["Default"] == "" and parameters["DomainAliases"]["Default"] == ""
    pattern = re.compile(parameters["CertificateArn"]["AllowedPattern"])
    assert pattern.match("arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789")
    assert not pattern.match("arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d")
    config = distribution()
    assert config["Aliases"] == {"Fn::If": ["HasCustomDomain", {"Ref": "DomainAliases"}, {"Ref": "AWS::NoValue"}]}
    condition, custom, default = config["ViewerCertificate"]["Fn::If"]
    assert condition == "HasCustomDomain"
    assert custom == {
        "AcmCertificateArn": {"Ref": "CertificateArn"},
        "SslSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.2_2021",
    }
    assert default == {"CloudFrontDefaultCertificate": True}


def test_the_rate_limit_is_off_by_default_per_ip_on_the_api_and_answers_429_in_the_error_shape():
    parameters, conditions = template()["Parameters"], template()["Conditions"]
    assert str(parameters["RateLimitPerIp"]["Default"]) == "0"
    assert not stack().condition("HasRateLimit") and stack(RateLimitPerIp="300").condition("HasRateLimit")
    assert resource("RateLimitAcl")["Condition"] == "HasRateLimit"
    assert distribution()["WebACLId"] == {
        "Fn::If": ["HasRateLimit", {"Fn::GetAtt": ["RateLimitAcl", "Arn"]}, {"Ref": "AWS::NoValue"}]
    }
    acl = properties("RateLimitAcl")
    assert acl["Scope"] == "CLOUDFRONT" and acl["DefaultAction"] == {"Allow": {}}
    (rule,) = acl["Rules"]
    statement = rule["Statement"]["RateBasedStatement"]
    assert statement["Limit"] == {"Ref": "RateLimitPerIp"} and statement["AggregateKeyType"] == "IP"
    scope = statement["ScopeDownStatement"]["ByteMatchStatement"]
    assert (scope["FieldToMatch"], scope["PositionalConstraint"], scope["SearchString"]) == (
        {"UriPath": {}},
        "STARTS_WITH",
        "/api/",
    )
    response = rule["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == 429
    body = acl["CustomResponseBodies"][response["CustomResponseBodyKey"]]
    assert body["ContentType"] == "APPLICATION_JSON"
    error = json.loads(body["Content"])["error"]
    assert set(error) == {"code", "message"} and error["code"] == "rate_limited"
    # CloudFront's web ACLs exist only in us-east-1: deploying one elsewhere fails early, by rule.
    rule_check = template()["Rules"]["RateLimitNeedsUsEast1"]
    assert rule_check["RuleCondition"] == conditions["HasRateLimit"]
    assert rule_check["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}


def test_cfn_lint_finds_nothing():
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    done = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def _checkov_venv() -> Path:
    """.venv-checkov from requirements-checkov.txt, as `make lint-template` makes it."""
    return tool_venv(".venv-checkov", CHECKOV_REQUIREMENTS) / "checkov"


@pytest.mark.slow
def test_checkov_fails_no_check_and_every_skip_says_why():
    checkov = _checkov_venv()
    done = subprocess.run(
        [
            str(checkov),
            "--file",
            str(TEMPLATE),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
    )
    report = json.loads(done.stdout)
    results = report["results"]
    failed = [(c["check_id"], c["resource"]) for c in results["failed_checks"]]
    assert failed == [], failed
    assert done.returncode == 0, done.stderr[-2000:]
    assert report["summary"]["passed"] > 0
    for check in results["skipped_checks"]:
        assert len(check["check_result"].get("suppress_comment", "")) > 20, check["check_id"]


def test_cloudfront_names_hold_the_stage_the_region_and_the_stack() -> None:
    # CloudFront's names are global to the account: another region, stage or stack must not collide.
    deployed = stack()
    suffix = deployed.uuid.split("-")[0]
    for (logical, kind, _), name in resolved_names(deployed).items():
        if kind.startswith("AWS::CloudFront::"):
            assert name.startswith(f"digits-production-ap-southeast-2-{suffix}-"), (logical, name)


def test_cloudfront_passes_errors_through_uncached() -> None:
    responses = {entry["ErrorCode"]: entry for entry in distribution().get("CustomErrorResponses", [])}
    # Every error code CloudFront would otherwise cache for 10 s (its documented list).
    assert set(responses) == {400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504}
    for code, entry in responses.items():
        assert entry["ErrorCachingMinTTL"] == 0
        assert "ResponsePagePath" not in entry or code == 403  # the site's 404 page (below)


@pytest.mark.parametrize(
    ("value", "accepted"),
    [("0", True), ("10", True), ("300", True), ("2000000000", True)]
    + [(str(n), False) for n in range(1, 10)]
    + [("2000000001", False), ("9999999999", False), ("-1", False), ("10.5", False), ("", False), ("010", False)],
)
def test_the_rate_limit_is_off_or_at_least_wafs_minimum_of_10(value: str, accepted: bool):
    """WAF refuses a rate-based rule under 10 requests (or over 2,000,000,000): the stack would
    fail half-way. The parameter refuses such a value before anything is made."""
    parameter = template()["Parameters"]["RateLimitPerIp"]
    assert "MinValue" not in parameter  # 0 means off: "0 or 10 and more" needs a pattern
    assert bool(re.fullmatch(parameter["AllowedPattern"], value)) is accepted


@pytest.mark.parametrize(
    ("certificate", "aliases", "deployable"),
    [
        ("", "", True),
        ("arn:aws:acm:us-east-1:123456789012:certificate/0a1b", "digits.example.com", True),
        ("arn:aws:acm:us-east-1:123456789012:certificate/0a1b", "digits.example.com,www.digits.example.com", True),
        ("arn:aws:acm:us-east-1:123456789012:certificate/0a1b", "", False),
        ("arn:aws:acm:us-east-1:123456789012:certificate/0a1b", "digits.example.com,", False),
        ("", "digits.example.com", False),
    ],
)
def test_a_certificate_and_its_domain_aliases_come_together(certificate: str, aliases: str, deployable: bool):
    """A certificate without the names it covers would give CloudFront an empty alias; names
    without a certificate would be dropped. The template's rules refuse both before deploying."""
    deployed = stack(CertificateArn=certificate, DomainAliases=aliases)
    assert all(deployed.holds(rule) for rule in template()["Rules"]) is deployable


# --- names: AWS's limits, whatever the stack is called -----------------------------------------

# Every name the template gives a resource, by type and where it sits: (most characters, the
# characters allowed), as AWS documents them. A name not listed here fails the test below.
NAME_LIMITS = {
    ("AWS::S3::Bucket", "BucketName"): (63, r"[a-z0-9][a-z0-9.-]*[a-z0-9]"),
    ("AWS::CloudFront::Function", "Name"): (64, r"[A-Za-z0-9_-]+"),
    ("AWS::CloudFront::OriginAccessControl", "OriginAccessControlConfig.Name"): (64, r"[A-Za-z0-9_.-]+"),
    ("AWS::CloudFront::ResponseHeadersPolicy", "ResponseHeadersPolicyConfig.Name"): (128, r"[A-Za-z0-9_-]+"),
    ("AWS::WAFv2::WebACL", "Name"): (128, r"[\w-]+"),
    ("AWS::WAFv2::WebACL", "VisibilityConfig.MetricName"): (255, r"[\w#:.\-/]+"),
    ("AWS::WAFv2::WebACL", "Rules.*.Name"): (128, r"[\w-]+"),
    ("AWS::WAFv2::WebACL", "Rules.*.VisibilityConfig.MetricName"): (255, r"[\w#:.\-/]+"),
    ("AWS::Logs::LogGroup", "LogGroupName"): (512, r"[.\-_/#A-Za-z0-9]+"),
    ("AWS::Logs::MetricFilter", "MetricTransformations.*.MetricName"): (255, r"[^:*$]+"),
    ("AWS::Serverless::StateMachine", "Name"): (80, r"[A-Za-z0-9_-]+"),
}
# Keys that name something new (not a reference to a metric or a dimension that exists).
NAME_KEYS = {"Name", "BucketName", "LogGroupName", "MetricName", "FunctionName", "TopicName", "AliasName", "RoleName"}
NOT_NEW_NAMES = {
    ("AWS::CloudWatch::Alarm", "MetricName"),  # the metric it watches
    ("AWS::CloudWatch::Alarm", "Dimensions.*.Name"),
    ("AWS::Logs::MetricFilter", "LogGroupName"),  # the log group it reads
    ("AWS::Serverless::Function", "Events.Api.Properties.Name"),
    # The function a state of the bulk jobs' state machine invokes.
    (
        "AWS::Serverless::StateMachine",
        "Definition.States.ReadFiles.ItemProcessor.States.ReadBatch.Parameters.FunctionName",
    ),
    ("AWS::Serverless::StateMachine", "Definition.States.WriteResults.Parameters.FunctionName"),
    ("AWS::Serverless::StateMachine", "Definition.States.MarkFailed.Parameters.FunctionName"),
}
GENERATED_NAME = "x" * 64  # a name CloudFormation makes (a function's): at most 64 characters


def _named(value: object, path: str = "") -> list[tuple[str, object]]:
    found = []
    if isinstance(value, dict):
        if _is_intrinsic(value):
            return []
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if key in NAME_KEYS and (not isinstance(item, (dict, list)) or _is_intrinsic(item)):
                found.append((where, item))
            else:
                found.extend(_named(item, where))
    elif isinstance(value, list):
        for item in value:
            found.extend(_named(item, f"{path}.*"))
    return found


def _is_intrinsic(value: object) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref"))


def resolved_names(deployed: Stack) -> dict[tuple[str, str, str], str]:
    """(resource, type, where) -> the name ``deployed`` gives it."""
    names = {}
    for logical, body in template()["Resources"].items():
        for where, value in _named(body.get("Properties", {})):
            if (body["Type"], where) in NOT_NEW_NAMES:
                continue
            text = str(deployed.resolve(value))
            names[(logical, body["Type"], where)] = re.sub(r"<[^>]+>", GENERATED_NAME, text)
    return names


@pytest.mark.parametrize(
    "deployed",
    [
        Stack(template(), LONG_STACK, "ap-southeast-2", parameters={"Stage": "production", "RateLimitPerIp": "300"}),
        # The longest of everything the parameters and CloudFormation allow.
        Stack(template(), "s" * 128, "ap-southeast-2", parameters={"Stage": "p" * 16, "RateLimitPerIp": "300"}),
    ],
    ids=["40-character stack, production", "128-character stack, 16-character stage"],
)
def test_every_name_fits_awss_limits_for_a_long_stack_name(deployed: Stack):
    names = resolved_names(deployed)
    assert {(kind, where) for _, kind, where in names} >= {
        ("AWS::CloudFront::Function", "Name"),
        ("AWS::S3::Bucket", "BucketName"),
    }
    for (logical, kind, where), name in names.items():
        assert (kind, where) in NAME_LIMITS, f"{logical}.{where}: add AWS's limit for {kind} names to NAME_LIMITS"
        most, characters = NAME_LIMITS[(kind, where)]
        assert len(name) <= most, f"{logical}.{where} = {name!r} is {len(name)} characters, over {most}"
        assert re.fullmatch(characters, name), f"{logical}.{where} = {name!r}"
    assert Settings(maps_bucket=maps_bucket_name(deployed)).maps_bucket  # the function accepts it


def test_two_stacks_of_one_stage_share_no_name():
    """Bucket names are global, CloudFront's names global to the account: a second stack of
    the same stage (another name, in the same account and region) must get names of its own."""
    first = stack()
    second = Stack(
        template(),
        "digits-copy",
        "ap-southeast-2",
        uuid="7c1e4a90-2b3f-11ef-9a1d-0a1b2c3d4e5f",
        parameters={"Stage": "production"},
    )
    first_names, second_names = resolved_names(first), resolved_names(second)
    for key in first_names:
        if key[2] in ("LogGroupName", "MetricTransformations.*.MetricName", "Rules.*.Name"):
            continue  # the function's generated name; names inside a resource of the stack's own
        assert first_names[key] != second_names[key], key
    assert maps_bucket_name(first) != maps_bucket_name(second)


def test_the_maps_bucket_is_named_alike_everywhere_it_is_named():
    """Named rather than referred to (see MapsBucket): the function's setting, its policy and
    the CSP must name exactly the bucket CloudFormation makes."""
    name = maps_bucket_name()
    assert stack().resolve(function_properties()["Environment"]["Variables"]["MAPS_BUCKET"]) == name
    (policy,) = function_properties()["Policies"]
    arns = {stack().resolve(s["Resource"]) for s in policy["Statement"] if s["Action"] != "states:StartExecution"}
    prefixes = ("predictions", "uploads", "corrections", "jobs")
    assert arns == {f"arn:aws:s3:::{name}", *(f"arn:aws:s3:::{name}/{prefix}/*" for prefix in prefixes)}


# --- only through CloudFront -------------------------------------------------------------------


def test_only_cloudfront_sends_the_secret_the_function_requires():
    header = {h["HeaderName"]: h["HeaderValue"] for h in origin("api")["OriginCustomHeaders"]}
    variables = function_properties()["Environment"]["Variables"]
    # The same value in both places, for the default and for a secret of one's own.
    assert header["X-Origin-Verify"] == variables["ORIGIN_SECRET"]
    default, own = stack(), stack(OriginSecret="f" * 64)
    assert default.resolve(variables["ORIGIN_SECRET"]) == default.uuid  # the stack's id: never public
    assert own.resolve(variables["ORIGIN_SECRET"]) == "f" * 64
    assert Settings.from_env({"ORIGIN_SECRET": default.uuid}).origin_secret == default.uuid
    parameter = template()["Parameters"]["OriginSecret"]
    assert parameter["NoEcho"] is True and parameter["Default"] == ""
    assert re.fullmatch(parameter["AllowedPattern"], "f" * 64) and not re.fullmatch(
        parameter["AllowedPattern"], "short"
    )
    # CloudFront replaces a viewer's header of that name; the API behavior forwards viewers'
    # headers, so the one that arrives is CloudFront's.
    assert api_behavior()["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST


# --- a missing page ----------------------------------------------------------------------------


def _csp_meta(page: Path) -> str:
    (policy,) = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page.read_text())
    return policy


def test_a_missing_page_is_the_sites_404_page_not_s3s_access_denied():
    """Without s3:ListBucket, S3 answers a missing key 403 AccessDenied (XML): CloudFront
    answers that with the site's own 404 page, status 404, uncached."""
    (entry,) = [e for e in distribution()["CustomErrorResponses"] if e["ErrorCode"] == 403]
    assert entry == {"ErrorCode": 403, "ErrorCachingMinTTL": 0, "ResponseCode": 404, "ResponsePagePath": "/404.html"}
    page = REPO_ROOT / "site" / "404.html"
    text = page.read_text()
    assert _csp_meta(page) == _csp_meta(REPO_ROOT / "site" / "index.html")
    assert "<script" not in text and "<style" not in text  # no script needed, no inline style
    assert not re.search(r"\s(style|on[a-z]+)=", text)  # no inline style or event handler
    # Served at any path: every link and asset is absolute.
    for link in re.findall(r'(?:href|src)="([^"]+)"', text):
        assert link.startswith(("/", "#")), link
        if link.startswith("/") and link != "/":
            assert (REPO_ROOT / "site" / link.lstrip("/")).exists() or link == "/feature_maps", link
    # The site bucket grants CloudFront no ListBucket, so a missing page is a 403 at the origin.
    actions = {a for s in statements("SiteBucketPolicy") if s["Effect"] == "Allow" for a in as_list(s["Action"])}
    assert actions == {"s3:GetObject"}


# --- alarms that see the function's own 5xx answers and slow requests --------------------------


def test_the_functions_own_5xx_answers_are_counted_from_its_log():
    """FastAPI turns an exception into a 500 response: Lambda's Errors metric never sees it.
    The metric filter counts the "request served" lines with a 5xx status
    (tests/test_handler.py checks the pattern against the handler's real log lines)."""
    metric_filter = properties("ServerErrorsMetricFilter")
    assert metric_filter["LogGroupName"] == {"Ref": "RecognizerLogGroup"}
    assert metric_filter["FilterPattern"] == '{ $.message = "request served" && $.status >= 500 }'
    (transformation,) = metric_filter["MetricTransformations"]
    alarm = properties("ServerErrorsAlarm")
    assert (transformation["MetricNamespace"], transformation["MetricName"]) == (
        alarm["Namespace"],
        alarm["MetricName"],
    )
    assert transformation["MetricValue"] == "1" and alarm["Statistic"] == "Sum" and alarm["Threshold"] == 1


def test_a_request_near_the_timeout_is_an_alarm():
    alarm = properties("FunctionDurationAlarm")
    timeout_ms = function_properties()["Timeout"] * 1000
    assert alarm["Statistic"] == "Maximum" and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["Threshold"] == 0.8 * timeout_ms  # Duration is in milliseconds


# --- a batch of upload_ids fits in the function's time -----------------------------------------

# Measured with `.venv/bin/python -m infra.measure_decode` (in-process, CPU seconds of every
# thread, median of 5; a shared 2-core x86 machine): the worst 12-megapixel photo per file is a
# HEIC (decode 0.77 s, whole answer 0.79 s); a JPEG answers in 0.06 s, an AVIF in 0.37 s.
HEIC_12MP_CPU_SECONDS = 0.79
# A first request after a cold start (the networks' first run, lazy imports): 0.7-1.4 s of a
# shared 2-core machine (infra/measure_handler.py), counted here as CPU seconds.
FIRST_REQUEST_CPU_SECONDS = 1.4
# S3 per file sent to S3: HeadObject, GetObject of up to ~8 MB at in-region speed, DeleteObject,
# three PNGs put side by side.
S3_SECONDS_PER_FILE = 0.3
LAMBDA_MB_PER_VCPU = 1769  # Lambda gives one vCPU at 1,769 MB, in proportion below it
TIMEOUT_SHARE = 0.8  # what a batch may use of the timeout: FunctionDurationAlarm's threshold


def test_a_batch_of_upload_ids_fits_in_the_timeout_at_the_configured_memory():
    props = function_properties()
    vcpu = min(1.0, props["MemorySize"] / LAMBDA_MB_PER_VCPU)
    per_file = HEIC_12MP_CPU_SECONDS / vcpu + S3_SECONDS_PER_FILE
    budget = props["Timeout"] * TIMEOUT_SHARE - FIRST_REQUEST_CPU_SECONDS / vcpu
    fits = math.floor(budget / per_file)
    limit = int(props["Environment"]["Variables"]["MAX_BATCH_UPLOAD_IDS"])
    assert 1 <= limit <= fits, (
        f"{limit} upload_ids take {limit * per_file:.1f} s; {budget:.1f} s are there ({fits} files)"
    )
    # The service's own default is no larger (a deployment that does not set it is safe too).
    assert Settings().max_batch_upload_ids <= fits


def test_the_docs_say_how_long_the_maps_bucket_really_keeps_things():
    """S3 counts a lifecycle day from the next midnight UTC: ExpirationInDays 1 is 24 to 48
    hours, so the docs say "within one to two days", never "within a day" or "after a day"."""
    days = {
        rule["ExpirationInDays"]
        for rule in properties("MapsBucket")["LifecycleConfiguration"]["Rules"]
        if rule.get("Prefix") in ("predictions/", "uploads/")
    }
    assert days == {1}
    for doc in (REPO_ROOT / "README.md", REPO_ROOT / "docs" / "deploy.md"):
        text = " ".join(doc.read_text().split())
        wrong = re.findall(r"(?:within|after) (?:a|one) day(?! or two)|a day after the last", text)
        assert not wrong, f"{doc.name}: {wrong}"
    deploy = " ".join((REPO_ROOT / "docs" / "deploy.md").read_text().split())
    assert "within one to two days" in deploy and "midnight UTC" in deploy
    assert "one to two days" in template()["Outputs"]["MapsBucketName"]["Description"]
