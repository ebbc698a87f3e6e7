#!/usr/bin/env bash
# Fails early, with one line per missing setting, when the repository is not set up for pulumi
# (README, "CI/CD"). It only tests whether values are empty; it never prints one.
set -uo pipefail

problems=0
missing() {
  echo "::error::$1"
  problems=$((problems + 1))
}

backend_url="${PULUMI_BACKEND_URL:-}"

if [ -z "${DIGITALOCEAN_TOKEN:-}" ]; then
  missing "secret DIGITALOCEAN_TOKEN is empty: add the DigitalOcean API token as a secret of this job's environment (preview, dev or production)"
fi

case "$backend_url" in
  s3://*)
    if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ]; then
      missing "the state's passphrase is empty: add PULUMI_CONFIG_PASSPHRASE_<STACK> (dev, production) or PREVIEW_CONFIG_PASSPHRASE (preview) as a secret of this job's environment (never a repository secret)"
    fi
    if [ -z "${AWS_ACCESS_KEY_ID:-}" ] || [ -z "${AWS_SECRET_ACCESS_KEY:-}" ]; then
      missing "the state bucket's key is empty: add STATE_ACCESS_KEY_ID / STATE_SECRET_ACCESS_KEY (dev, production) or MIRROR_ACCESS_KEY_ID / MIRROR_SECRET_ACCESS_KEY (preview) as secrets of this job's environment (never repository secrets)"
    fi
    if [[ "$backend_url" != *"endpoint="* ]]; then
      missing "variable PULUMI_BACKEND_URL has no endpoint= parameter, so state would go to AWS S3: use s3://BUCKET?endpoint=REGION.digitaloceanspaces.com&region=REGION&s3ForcePathStyle=true"
    fi
    ;;
  "" | https://*)
    if [ -z "${PULUMI_ACCESS_TOKEN:-}" ]; then
      missing "no state backend: set the repository variable PULUMI_BACKEND_URL (Spaces) or the environment secret PULUMI_ACCESS_TOKEN (Pulumi Cloud)"
    fi
    ;;
  *)
    missing "variable PULUMI_BACKEND_URL must be an s3:// Spaces URL or empty (Pulumi Cloud): a runner's own storage starts empty on every run"
    ;;
esac

# Jobs that publish or preview the preview mirror (infra/preview_mirror.py) declare both.
if [ -n "${PREVIEW_BACKEND_URL+declared}" ]; then
  case "${PREVIEW_BACKEND_URL}" in
    s3://*endpoint=*) ;;
    *) missing "variable PREVIEW_BACKEND_URL must be the preview mirror's bucket, s3://BUCKET?endpoint=REGION.digitaloceanspaces.com&region=REGION&s3ForcePathStyle=true (docs/ci-cd.md)" ;;
  esac
  if [ -z "${PREVIEW_CONFIG_PASSPHRASE:-}" ]; then
    missing "secret PREVIEW_CONFIG_PASSPHRASE is empty: add the preview mirror's passphrase (the preview environment's) as a secret of this job's environment"
  fi
fi

if [ "$problems" -gt 0 ]; then
  exit 1
fi
if [ -z "$backend_url" ] || [[ "$backend_url" == https://* ]]; then
  echo "pulumi settings present (state in Pulumi Cloud)"
else
  echo "pulumi settings present (state in Spaces)"
fi
