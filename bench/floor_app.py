"""The framework floor: the same FastAPI stack serving prebuilt pages, with no database.

`bench/run.py` captures each scenario's real response body, writes them to a directory and
serves them from here with the same server and worker count, so the difference between a
scenario and its floor is what the database and our code add.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from starlette.responses import Response

from tidings.kit.hal import HAL_JSON


def create_floor_app() -> FastAPI:
    pages = {p.stem: p.read_bytes() for p in Path(os.environ["TIDINGS_FLOOR_PAGES"]).glob("*.json")}
    app = FastAPI()

    @app.get("/floor/{name}")
    async def page(name: str) -> Response:
        return Response(pages[name], media_type=HAL_JSON)

    return app
