# myctl: the Slack bot (`myctl-bot`, the entrypoint) and the CLI (`myctl`) in one small,
# non-root image. Built and run here by scripts/image-build and scripts/image-run
# (docs/operations.md); dependencies come only from the hashed lock in requirements/.

# Fully qualified so podman does not ask which registry a short name means. Where no registry
# is reachable, scripts/image-build puts a Debian bookworm stand-in under this same name.
ARG PYTHON_IMAGE=docker.io/library/python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
# binutils, for `strip` below. Build stage only (the stage is thrown away), so Debian stable's
# current version is as good as a pinned one; pinning would break on every point release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends binutils \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements/runtime.txt requirements/build.txt requirements/
# The CA bundle arrives as a build secret (HTTPS may go through a proxy with its own CA): it is
# mounted for this step only and never stored in a layer. Without the secret, the base image's
# own bundle is used. Wheels only: the base image has no compiler, and none is wanted.
RUN --mount=type=secret,id=ca,required=false \
    ca=/run/secrets/ca; [ -s "$ca" ] || ca=/etc/ssl/certs/ca-certificates.crt; \
    export PIP_CERT=$ca SSL_CERT_FILE=$ca; \
    python3 -m venv /opt/build \
    && /opt/build/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: \
        -r requirements/build.txt \
    && python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: \
        --no-deps -r requirements/runtime.txt
# Size (the target is 200 MB): the kubernetes client is half the venv, mostly docstrings of its
# generated API and model classes. It is kept as bytecode only, compiled without docstrings
# (-o 2; its one assert is an internal sanity check): 34 MB of sources and bytecode become 8 MB.
# Its tracebacks still name file and line. myctl's own code and the other packages keep their
# sources; click builds the CLI's help from docstrings, so -OO is not applied globally.
# Extension modules lose their symbol tables (10 MB; no behaviour changes), except
# psycopg-binary's: auditwheel rewrote their RPATHs with patchelf, and strip can corrupt those.
RUN site=$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
    && find "$site/kubernetes" -name __pycache__ -prune -exec rm -rf {} + \
    && /opt/venv/bin/python -m compileall -q -b -o 2 "$site/kubernetes" \
    && find "$site/kubernetes" -name '*.py' -delete \
    && find "$site" -name '*.so' -type f ! -path '*/psycopg_binary*' \
        -exec strip --strip-unneeded {} +
COPY pyproject.toml README.md ./
COPY commands ./commands
COPY bot ./bot
# myctl itself: built offline with the locked setuptools, installed without dependencies (all
# are in the venv already), then pip and setuptools leave the runtime venv: nothing installs
# at run time.
RUN /opt/build/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation --no-index \
        --wheel-dir /tmp/dist . \
    && /opt/venv/bin/pip install --no-cache-dir --no-deps --no-index /tmp/dist/myctl-*.whl \
    && /opt/venv/bin/pip uninstall --yes pip setuptools

FROM ${PYTHON_IMAGE}
# uid/gid 10001: above any distribution's system range, and what deploy/ pins in
# runAsUser, so a read-only root and runAsNonRoot agree with the image.
RUN groupadd --gid 10001 myctl \
    && useradd --uid 10001 --gid 10001 --no-log-init --no-create-home \
        --home-dir /var/lib/myctl --shell /usr/sbin/nologin myctl \
    && mkdir -p /var/lib/myctl && chown 10001:10001 /var/lib/myctl
# Only the finished venv crosses over: no wheels, caches, pip or build tools.
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=3000 \
    MYCTL_STATE_URL=sqlite:////var/lib/myctl/state.db
USER 10001:10001
WORKDIR /var/lib/myctl
# The state database (SQLite) lives here; mount a volume so a read-only root still works.
VOLUME ["/var/lib/myctl"]
EXPOSE 3000
# Last, so a new revision relabels the image without redoing the layers above.
ARG PYTHON_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="myctl" \
      org.opencontainers.image.description="Roll a freshly pushed container image out across a Kubernetes cluster, safely, from Slack or a terminal." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.vendor="myctl" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"
# Liveness/readiness are HTTP probes on /healthz and /readyz (deploy/base/deployment.yaml).
ENTRYPOINT ["myctl-bot"]
