"""The HTTP door: a thin FastAPI shell over :class:`service.engine.Engine`.

``create_app()`` builds the app; ``unspin serve`` runs it with uvicorn.
"""

from service.api.app import create_app

__all__ = ["create_app"]
