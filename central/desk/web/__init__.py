"""The desk's web application: server-rendered pages over the desk tables, live by
Server-Sent Events, with users, roles, CSRF tokens and an append-only audit log.

`app.create_app(config, catalogue)` builds it; `serve.serve` runs it under uvicorn. Every
asset (templates, CSS, JS) lives in this package: no CDN, no build step.
"""
