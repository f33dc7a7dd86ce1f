# The smsvoice image: one image for web (gunicorn), worker and beat (Celery); docker-compose.yml
# picks the command. Settings come from the environment (see README, "Configuration").
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A user of its own: nothing in the container runs as root. Its home is writable (gunicorn
# keeps its control socket there); the code is not.
RUN groupadd --system smsvoice \
    && useradd --system --gid smsvoice --create-home --home-dir /home/smsvoice smsvoice

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so code changes reuse this layer.
# (pyproject lists no packages to install: the apps run from /app, only the dependencies
# are installed.)
COPY pyproject.toml ./
RUN pip install .

# The code stays root's: the app's user can read it but not change it.
COPY . .

# The static files, hashed and compressed for WhiteNoise (DEBUG off); the key is a throwaway
# that only lets settings load here, the real one comes from the environment at run time.
RUN DEBUG=false SECRET_KEY=collectstatic-only-not-a-secret-0123456789abcdefghijklmnop \
        python manage.py collectstatic --noinput \
    && chown -R smsvoice:smsvoice /app/staticfiles

USER smsvoice
EXPOSE 8000

CMD ["gunicorn", "smsvoice.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
