"""FastAPI app: JSON API under /api/v1 and server-rendered Japanese pages."""
