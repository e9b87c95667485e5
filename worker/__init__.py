"""What the worker process sets up once for every function, and its liveness route: log
records exported to Application Insights, the start-up report of bad settings, and
`GET /api/health`. Imported by the composition root and `function_app.py` alone."""
