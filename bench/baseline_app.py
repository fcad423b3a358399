"""The floor for bench/sms_ingest.py: a bare FastAPI app that reads the form and answers empty TwiML.

Same framework, server (uvicorn + uvloop + httptools) and worker count as `hotline serve`, but no
signature check, no database and no Redis: the difference to hotline is what the hotline's own
work costs.

    uvicorn baseline_app:app --app-dir bench --workers 1 --port 8001 --no-access-log
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

app = FastAPI(title="sms_ingest baseline")


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/twilio/sms")
async def inbound_sms(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=200)
    if not form.get("MessageSid"):
        return Response("MessageSid is required", status_code=400, media_type="text/plain")
    return Response(EMPTY_TWIML, media_type="application/xml")


@app.post("/kannel/sms")
async def kannel_sms(request: Request) -> Response:
    """bench/gateway_ingest.py's floor: read Kannel's body and query, answer empty."""
    await request.body()
    if not request.query_params.get("id"):
        return Response("id is missing", status_code=400, media_type="text/plain")
    return Response("", media_type="text/plain")


@app.post("/whatsapp/webhook")
async def whatsapp_webhook(request: Request) -> Response:
    """bench/whatsapp_ingest.py's floor: read Meta's JSON body, answer empty (no signature, no database)."""
    if not (await request.body()).startswith(b"{"):
        return Response("not JSON", status_code=400, media_type="text/plain")
    return Response("", media_type="text/plain")
