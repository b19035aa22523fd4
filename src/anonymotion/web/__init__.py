"""The web application: FastAPI app, SQLite job store, worker pool, retention sweeper."""
