"""gunicorn settings for the portal's web processes (README, "Deploying"):

    .venv/bin/gunicorn -c gunicorn.conf.py

Every setting can be overridden on the command line (`--bind`, `--workers`) or with
GUNICORN_CMD_ARGS. Sync workers: each request is one short transaction on its own connection;
slow work (Stripe events, webhooks, messages) is the job workers' (`flask --app portal worker`).
"""

import os
import shutil
import tempfile

wsgi_app = "portal:create_app()"
bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
#: Two per core plus one (gunicorn's rule of thumb); WEB_CONCURRENCY overrides it.
workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) * 2 + 1)
worker_class = "sync"
#: Longer than any request should take (Stripe's timeout is 10 s); a stuck worker is replaced.
timeout = 30
graceful_timeout = 30
keepalive = 5
#: Recycle workers now and then, so no slow leak lives for ever.
max_requests = 2000
max_requests_jitter = 200
#: No preload: each worker opens its own database pool after the fork.
preload_app = False
#: The portal writes its own line per request (JSON with LOG_FORMAT=json, no query strings);
#: gunicorn's access log would repeat it with the raw path, ids and all.
accesslog = None
errorlog = "-"
#: gunicorn's control socket (`gunicornc`) is one fixed path per user: a second server on the
#: same machine would take it over. Off; orchestrate with signals (TERM, HUP, TTIN/TTOU).
control_socket_disable = True
#: The proxy in front sets X-Forwarded-*; the app trusts TRUST_PROXY_HOPS of them (ProxyFix).
forwarded_allow_ips = "127.0.0.1"

# Prometheus request metrics from every worker process, summed at each scrape of /metrics:
# prometheus_client's multiprocess mode keeps them in files under PROMETHEUS_MULTIPROC_DIR,
# which must be set before the workers import it; a fresh directory of this server's own unless
# the operator names one (it is emptied at start: stale files would count old processes).
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="portal-metrics-")


def on_starting(server):
    """Empty the metrics directory before the first worker starts."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    """A worker that exits stops counting in the live gauges (counters keep its totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
