# myctl: the Slack bot (`myctl-bot`) and the CLI (`myctl`) in one small, non-root image.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY commands ./commands
COPY bot ./bot
# Wheels are built in a throwaway stage so the runtime image has no compilers or caches.
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

FROM python:3.11-slim
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin myctl
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels myctl[postgres] && rm -rf /wheels
USER 10001
WORKDIR /home/myctl
ENV PORT=3000 PYTHONUNBUFFERED=1
EXPOSE 3000
# Liveness/readiness are HTTP probes on /healthz and /readyz (see deploy/deployment.yaml).
ENTRYPOINT ["myctl-bot"]
