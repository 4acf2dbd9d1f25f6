"""template.yaml: the security and sizing properties issue 5 asks for, then cfn-lint and checkov.

The template is read with cfn-lint's own decoder (CloudFormation's short tags become
``{"Ref": ...}``/``{"Fn::Sub": ...}``), so every assertion looks at what CloudFormation gets.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def content_security_policy() -> dict[str, list[str]]:
    config = properties("SecurityHeadersPolicy")["ResponseHeadersPolicyConfig"]
    csp = config["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    assert csp["Override"] is True
    text = csp["ContentSecurityPolicy"]["Fn::Sub"]
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


def test_maps_bucket_deletes_everything_after_one_day_and_keeps_no_versions():
    props = properties("MapsBucket")
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == 1
    # For every object: no Prefix, no Filter.
    assert "Prefix" not in rule and "Filter" not in rule
    # A versioned bucket would keep people's uploads as noncurrent versions past expiry.
    assert props.get("VersioningConfiguration", {}).get("Status") in (None, "Suspended")


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
            for action in as_list(statement["Action"]):
                assert "*" not in action
                for res in as_list(statement["Resource"]):
                    allowed.setdefault(json.dumps(res, sort_keys=True), set()).add(action)
    bucket = "arn:${AWS::Partition}:s3:::" + properties("MapsBucket")["BucketName"]["Fn::Sub"]
    assert allowed == {
        json.dumps({"Fn::Sub": f"{bucket}/predictions/*"}): object_actions,
        json.dumps({"Fn::Sub": f"{bucket}/uploads/*"}): object_actions,
        json.dumps({"Fn::Sub": bucket}): {"s3:ListBucket"},
    }
    (listing,) = [s for p in policies for s in p["Statement"] if s["Action"] == "s3:ListBucket"]
    # Its own two prefixes only (a missing upload is told apart from a refusal by listing it).
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["predictions/*", "uploads/*"]}}


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
    # An error page would replace the API's own JSON errors: error responses only set TTLs.
    assert not any("ResponsePagePath" in entry for entry in distribution().get("CustomErrorResponses", []))


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
    name = properties("MapsBucket")["BucketName"]["Fn::Sub"]
    host = f"https://{name}.s3.${{AWS::Region}}.${{AWS::URLSuffix}}"
    csp = content_security_policy()
    img = csp["img-src"]
    assert [source for source in img if source.startswith("https://")] == [host]
    assert set(img) - {host} == {"'self'", "data:", "blob:"}
    assert csp["connect-src"] == ["'self'", host]
    assert properties("RecognizerFunction")["Environment"]["Variables"]["MAPS_BUCKET"] == {"Fn::Sub": name}


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


# --- linters ---------------------------------------------------------------------------------


# --- running it for the public: alarms, a custom domain, a per-client rate limit --------------


ALARMS = {
    "FunctionErrorsAlarm": ("AWS/Lambda", "Errors", {"FunctionName": {"Ref": "RecognizerFunction"}}),
    "FunctionThrottlesAlarm": ("AWS/Lambda", "Throttles", {"FunctionName": {"Ref": "RecognizerFunction"}}),
    "Api5xxAlarm": ("AWS/ApiGateway", "5xx", {"ApiId": {"Ref": "HttpApi"}, "Stage": "$default"}),
}


@pytest.mark.parametrize("name", list(ALARMS))
def test_alarms_watch_function_errors_throttles_and_api_5xx_and_tell_the_topic(name: str):
    namespace, metric, dimensions = ALARMS[name]
    alarm = properties(name)
    assert (alarm["Namespace"], alarm["MetricName"]) == (namespace, metric)
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == dimensions
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}] and alarm["OKActions"] == [{"Ref": "AlarmTopic"}]
    assert alarm["TreatMissingData"] == "notBreaching"  # no traffic is not an alarm
    assert alarm["Period"] * alarm["EvaluationPeriods"] <= 300 and alarm["Threshold"] >= 1


def test_alarm_mail_is_optional_and_the_topic_encrypted():
    assert template()["Parameters"]["AlarmEmail"]["Default"] == ""
    assert resource("AlarmEmailSubscription")["Condition"] == "HasAlarmEmail"
    assert properties("AlarmEmailSubscription")["Protocol"] == "email"
    assert template()["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    assert properties("AlarmTopic")["KmsMasterKeyId"] == "alias/aws/sns"
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
    assert parameters["RateLimitPerIp"]["Default"] == 0
    assert conditions["HasRateLimit"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "RateLimitPerIp"}, 0]}]}
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


def test_cloudfront_names_hold_the_region_and_the_stage() -> None:
    # CloudFront's names are global to the account: a second region or stage must not collide.
    for name in ("SiteOriginAccessControl", "PrettyUrlsFunction", "SecurityHeadersPolicy"):
        found = json.dumps(properties(name))
        assert "${AWS::StackName}-${AWS::Region}-${Stage}-" in found, name


def test_cloudfront_passes_errors_through_uncached() -> None:
    responses = {entry["ErrorCode"]: entry for entry in distribution().get("CustomErrorResponses", [])}
    # Every error code CloudFront would otherwise cache for 10 s (its documented list).
    assert set(responses) == {400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504}
    for entry in responses.values():
        assert entry["ErrorCachingMinTTL"] == 0 and "ResponsePagePath" not in entry
