"""Access token, CSRF protection and response headers of the web application.

- Access token (optional): a browser proves it once on the login form and then carries an
  HttpOnly cookie holding an HMAC of the token (never the token itself); scripts send
  ``Authorization: Bearer <token>``.
- CSRF (double submit): every page sets a random ``anonymotion_csrf`` cookie (SameSite=Strict)
  and embeds the same value; every POST/DELETE must echo it in the ``X-CSRF-Token`` header
  (the page's JavaScript) or the ``csrf_token`` form field. A cross-site page can do neither.
  Requests authenticated by a bearer token are exempt (a browser never sends one on its own).
  Scripts without a token call ``GET /api/session`` first. A request whose ``Origin`` is
  another site is refused outright.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "anonymotion_csrf"
CSRF_HEADER = "x-csrf-token"
AUTH_COOKIE = "anonymotion_auth"

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
     b"script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"),
]


def session_value(token: str) -> str:
    """The auth cookie's value: an HMAC of the access token, so the cookie never holds the token."""
    return hmac.new(token.encode(), b"anonymotion-session-v1", hashlib.sha256).hexdigest()


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_cookie(request: Request) -> str | None:
    return request.cookies.get(CSRF_COOKIE)


def bearer_ok(request: Request, token: str | None) -> bool:
    if token is None:
        return False
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def authorized(request: Request, token: str | None) -> bool:
    """True when no token is configured, or the request carries it (cookie or bearer)."""
    if token is None:
        return True
    if bearer_ok(request, token):
        return True
    cookie = request.cookies.get(AUTH_COOKIE, "")
    return hmac.compare_digest(cookie.encode(), session_value(token).encode())


def same_origin(request: Request) -> bool:
    """False when the request states an Origin that is not this server."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") == host


def check_csrf(request: Request, token: str | None, form_value: str | None = None) -> None:
    """Raise 403 unless the request proves it comes from our own page (or bears the API token)."""
    if bearer_ok(request, token):
        return
    if not same_origin(request):
        raise HTTPException(status_code=403, detail="Cross-site request refused.")
    cookie = csrf_cookie(request)
    sent = form_value if form_value is not None else request.headers.get(CSRF_HEADER)
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise HTTPException(status_code=403, detail="Missing or invalid CSRF token; reload the page and try again.")


class SecurityHeaders:
    """Pure ASGI middleware adding the headers above to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                static = scope["path"].startswith("/static/")
                for k, v in SECURITY_HEADERS:
                    if k not in present and not (static and k == b"cache-control"):
                        headers.append((k, v))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

