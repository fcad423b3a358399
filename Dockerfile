# One image for every Hotline part: api (hotline serve), worker (hotline worker), ari (hotline ari), migrate.
FROM python:3.11-slim-bookworm

# espeak-ng + sox make the IVR prompt audio (hotline prompts build); curl is for the health checks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng sox curl \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 hotline
WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md requirements.lock ./
COPY hotline/__init__.py hotline/__init__.py
RUN pip install --no-cache-dir -c requirements.lock . && pip uninstall -y hotline

COPY hotline/ hotline/
RUN pip install --no-cache-dir --no-deps .

# The city's data (a deployment may mount its own over these: HOTLINE_CONFIG_DIR=/app).
COPY routing/ routing/
COPY sms/ sms/
COPY ivr_flows/ ivr_flows/

ENV HOTLINE_ENV=production \
    HOTLINE_CONFIG_DIR=/app \
    HOTLINE_DATA_DIR=/var/lib/hotline \
    HOTLINE_HOST=0.0.0.0 \
    HOTLINE_PORT=8000 \
    HOTLINE_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1

RUN mkdir -p /var/lib/hotline && chown hotline /var/lib/hotline
USER hotline
EXPOSE 8000
CMD ["hotline", "serve"]
