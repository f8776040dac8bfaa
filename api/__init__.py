"""FastAudio's HTTP API (FastAPI, served by uvicorn): ``uvicorn api.main:app``."""
