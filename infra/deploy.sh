#!/usr/bin/env bash
# Deploy to AWS with SAM: build the function's image, deploy the stack, publish the site.
#
#   ./infra/deploy.sh            (make deploy) sam build, sam deploy, publish site/
#   ./infra/deploy.sh publish    publish site/ only (after editing the site)
#   ./infra/deploy.sh delete     empty both buckets, then sam delete (asks first)
#
# STAGE (prod or dev: samconfig.toml's environments `default` and `dev`), STACK_NAME (default
# digits, or digits-STAGE for another stage) and the AWS region (AWS_REGION, or your profile's)
# choose the stack; samconfig.toml holds the rest. Extra arguments go to `sam deploy`, e.g.
# ./infra/deploy.sh --parameter-overrides AlarmEmail=ops@example.com
#
# Its own Python work (credentials, region, publishing the site) needs boto3 alone: it runs in
# .venv-deploy, made here on first use from requirements-deploy.txt with PYTHON (python3), not
# in the dev venv and its TensorFlow. PY=/some/python uses another interpreter that has boto3.
set -euo pipefail
cd "$(dirname "$0")/.."

STAGE="${STAGE:-prod}"
case "$STAGE" in
  prod) CONFIG_ENV=default ;;
  dev) CONFIG_ENV=dev ;;
  *) echo "deploy: STAGE must be prod or dev (samconfig.toml's environments), not '$STAGE'" >&2; exit 1 ;;
esac
if [ "$STAGE" = prod ]; then STACK_NAME="${STACK_NAME:-digits}"; else STACK_NAME="${STACK_NAME:-digits-$STAGE}"; fi
PYTHON="${PYTHON:-python3}"
DEPLOY_VENV=.venv-deploy
PY="${PY:-$DEPLOY_VENV/bin/python}"
SAM="${SAM:-sam}"

die() {
  echo "deploy: $*" >&2
  exit 1
}

need_python() {
  if [ "$PY" = "$DEPLOY_VENV/bin/python" ] && ! cmp -s requirements-deploy.txt "$DEPLOY_VENV/requirements-deploy.txt"; then
    echo "deploy: making $DEPLOY_VENV (boto3, from requirements-deploy.txt) with $PYTHON"
    { "$PYTHON" -m venv --clear "$DEPLOY_VENV" \
      && "$DEPLOY_VENV/bin/pip" install --quiet -r requirements-deploy.txt \
      && cp requirements-deploy.txt "$DEPLOY_VENV/requirements-deploy.txt"; } \
      || die "could not make $DEPLOY_VENV with $PYTHON: it needs Python 3.11+ with its venv module
  (Debian: apt-get install python3-venv) and PyPI. PYTHON=/path/to/python3 picks another one."
  fi
  [ -x "$PY" ] || die "no $PY: unset PY to let deploy.sh make $DEPLOY_VENV, or point PY at a Python with boto3."
}

need_sam() {
  command -v "$SAM" >/dev/null 2>&1 || die "the SAM CLI ('$SAM') is not installed. Install it in a
  virtual environment of its own (its pins clash with .venv's):
    python3 -m venv ~/.sam-cli && ~/.sam-cli/bin/pip install aws-sam-cli
  then put ~/.sam-cli/bin on PATH, or run SAM=~/.sam-cli/bin/sam make deploy."
}

need_docker() {
  command -v docker >/dev/null 2>&1 \
    || die "Docker is not installed: 'sam build' builds the function's container image with it."
  docker info >/dev/null 2>&1 \
    || die "Docker is installed but its engine is not running (or this user may not use it): start it, then retry."
}

aws_region() {
  "$PY" -c 'import boto3; print(boto3.session.Session().region_name or "")'
}

need_credentials() {
  local who
  who="$("$PY" -c 'import boto3; print(boto3.client("sts").get_caller_identity()["Arn"])' 2>/dev/null)" \
    || die "no usable AWS credentials: set AWS_PROFILE (then 'aws sso login' if it uses SSO) or
  AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, and check them with 'aws sts get-caller-identity'."
  REGION="$(aws_region)"
  [ -n "$REGION" ] || die "no AWS region: set AWS_REGION (e.g. export AWS_REGION=eu-west-1) or give your profile one."
  echo "deploy: as $who, stack $STACK_NAME ($STAGE) in $REGION"
}

publish() {
  "$PY" -m infra.publish_site --stack-name "$STACK_NAME" --region "$REGION"
}

deploy() {
  need_sam
  need_docker
  need_python
  need_credentials
  "$SAM" build --config-env "$CONFIG_ENV"
  "$SAM" deploy --config-env "$CONFIG_ENV" --stack-name "$STACK_NAME" --region "$REGION" "$@"
  publish
}

delete() {
  need_sam
  need_python
  need_credentials
  read -r -p "Delete stack $STACK_NAME in $REGION and everything in its buckets? [y/N] " answer
  [ "$answer" = "y" ] || [ "$answer" = "Y" ] || die "nothing deleted."
  # CloudFormation cannot delete a bucket that still holds objects.
  "$PY" -m infra.publish_site --stack-name "$STACK_NAME" --region "$REGION" --empty
  "$SAM" delete --config-env "$CONFIG_ENV" --stack-name "$STACK_NAME" --region "$REGION" --no-prompts
}

case "${1:-}" in
  publish)
    need_python
    need_credentials
    publish
    ;;
  delete)
    delete
    ;;
  *)
    deploy "$@"
    ;;
esac
